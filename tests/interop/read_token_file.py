#!/usr/bin/env python3
"""Reads a condenser token file with h5py and checks the contract of
data/text/token_file.h on its own: root attributes, /tokenizer bytes against
tokenizer_sha256 (hashlib), per split the dtypes (tokens uint16 when
vocab_size <= 65536 else uint32, doc_offsets int64), offsets from 0 to n and
strictly increasing, every id < vocab_size, every document ending in eos; and,
when the input names the corpus documents, corpus_sha256 over them (each
followed by a blank line). When the sentencepiece module imports, it also
decodes every document and looks it up in the corpus.

usage: read_token_file.py INPUT.json OUTPUT.json
INPUT: {"path": ..., "documents": [...] (optional)}
OUTPUT: {"errors": [...], "attrs": {...}, "tokenizer_hex": ..., "decoded_with_spm": bool,
         "splits": {name: {"dtype", "offsets_dtype", "tokens": [...], "offsets": [...]}}}
Run with an interpreter that has h5py and numpy (/usr/bin/python3 on Debian).
"""
import hashlib
import json
import sys

import h5py
import numpy as np


def main(inp, out):
    spec = json.load(open(inp))
    errors = []
    result = {"errors": errors, "splits": {}, "decoded_with_spm": False}
    with h5py.File(spec["path"], "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
                 for k, v in f.attrs.items()}
        result["attrs"] = attrs
        vocab, eos = attrs["vocab_size"], attrs["eos_id"]
        if attrs.get("kind") != "tokens":
            errors.append("kind is %r" % attrs.get("kind"))
        model = f["tokenizer"][()]
        if model.dtype != np.uint8:
            errors.append("tokenizer dtype %s" % model.dtype)
        if hashlib.sha256(model.tobytes()).hexdigest() != attrs["tokenizer_sha256"]:
            errors.append("tokenizer_sha256 does not match /tokenizer")
        result["tokenizer_hex"] = model.tobytes().hex()
        want = np.uint16 if vocab <= 65536 else np.uint32
        for name in ("train", "validation", "test"):
            tokens, offsets = f[name]["tokens"][()], f[name]["doc_offsets"][()]
            if tokens.dtype != want:
                errors.append("%s tokens dtype %s" % (name, tokens.dtype))
            if offsets.dtype != np.int64:
                errors.append("%s doc_offsets dtype %s" % (name, offsets.dtype))
            if offsets[0] != 0 or offsets[-1] != len(tokens) or not np.all(np.diff(offsets) > 0):
                errors.append("%s offsets not 0..n strictly increasing" % name)
            if len(tokens) and int(tokens.max()) >= vocab:
                errors.append("%s has an id >= vocab_size" % name)
            if not np.all(tokens[offsets[1:] - 1] == eos):
                errors.append("%s: a document does not end with eos" % name)
            result["splits"][name] = {
                "dtype": str(tokens.dtype), "offsets_dtype": str(offsets.dtype),
                "tokens": tokens.astype(np.int64).tolist(), "offsets": offsets.tolist()}
    docs = spec.get("documents")
    if docs is not None:
        h = hashlib.sha256("".join(d + "\n\n" for d in docs).encode("utf-8")).hexdigest()
        if h != attrs["corpus_sha256"]:
            errors.append("corpus_sha256 does not match the documents")
        try:
            import sentencepiece as spm  # python3-sentencepiece may be absent
        except ImportError:
            spm = None
        if spm is not None:
            sp = spm.SentencePieceProcessor(model_proto=model.tobytes())
            pool = set(docs)
            for s in result["splits"].values():
                t, o = s["tokens"], s["offsets"]
                for i in range(len(o) - 1):
                    if sp.decode(t[o[i]:o[i + 1] - 1]) not in pool:
                        errors.append("a decoded document is not in the corpus")
            result["decoded_with_spm"] = True
    json.dump(result, open(out, "w"))
    print("read_token_file:", "ok" if not errors else errors)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
