#pragma once
// The C interface of libcondenser_spm.so, the one place SentencePiece is
// linked (data/text/spm/sentencepiece_shim.cpp). Why a separate library:
// libsentencepiece carries its own copy of protobuf-lite and exports its
// symbols; linked into a process that also loads LibTorch's libprotobuf,
// one copy's static initialisers run on the other's code and the process
// crashes before main. data/text/tokenizer.cpp therefore dlopens this
// library with RTLD_LOCAL | RTLD_DEEPBIND: SentencePiece binds to its own
// protobuf and nobody else sees it. Only plain C types cross the boundary;
// every buffer the library returns is released with cspm_release.
// Functions returning char* return NULL on success, else an error message.
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CSPM_ABI_VERSION 1
int cspm_abi_version(void);

// Trains a model. `args`: SentencePiece trainer flags ("--model_type=bpe
// --vocab_size=512 ..."); `sentences`: `size` bytes of '\n'-separated
// training sentences; *model/*model_size: the serialized model.
char* cspm_train(const char* args, const char* sentences, size_t size, char** model,
                 size_t* model_size);

// A processor for a serialized model (*processor; cspm_unload frees it).
char* cspm_load(const char* model, size_t size, void** processor);
void cspm_unload(void* processor);

// ids[0..4] = piece count, unk, bos, eos, pad (-1 when absent).
void cspm_ids(void* processor, int ids[5]);

char* cspm_encode(void* processor, const char* text, size_t size, int** ids, size_t* count);
char* cspm_decode(void* processor, const int* ids, size_t count, char** text, size_t* size);

void cspm_release(void* buffer);

#ifdef __cplusplus
}
#endif
