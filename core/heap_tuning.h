#pragma once
// How the process's heap hands big blocks back and forth with the kernel.
//
// glibc's defaults serve a tensor of more than 128 KiB (the threshold then
// rises with what was freed, up to 32 MiB) straight from mmap and unmap it
// when freed, and give the heap's free top back to the kernel above 128 KiB.
// A training step allocates and frees the same large activations and
// gradients every time, so each step faulted in fresh zeroed pages: the
// default job's teacher trained 2.45x slower at 2 threads (`bench/heap.sh`),
// by an amount that varied from run to run with the allocation history.
// keep_freed_memory() keeps blocks up to 32 MiB on the heap and lets the
// process keep up to 1 GiB of freed memory for reuse instead.
namespace condenser {

// What keep_freed_memory() did: applied, or why not.
enum class HeapTuning { kApplied, kUserSetting, kOptedOut, kUnsupported };

// Called first thing in main(). Leaves glibc's defaults when the user set
// their own (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_ or
// a GLIBC_TUNABLES entry for glibc.malloc), when CONDENSER_HEAP=system, and
// where the C library is not glibc.
HeapTuning keep_freed_memory();

}  // namespace condenser
