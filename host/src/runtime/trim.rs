//! Gives freed heap memory back to the operating system after a compilation or a large
//! request.
//!
//! Cranelift allocates hundreds of MiB while it compiles a large component (the 17 MiB
//! Python build of `substring-matching`), on several threads. glibc keeps what they free in
//! per-thread arenas for reuse, so without a trim the host's resident memory stays at its
//! compile-time peak for as long as it runs, though models are rarely compiled again.

/// Returns free heap memory to the OS: mimalloc's (the host's allocator, see `crate::alloc`),
/// which otherwise purges freed pages only while the freeing thread keeps allocating, and
/// glibc's arenas (`malloc_trim`), which the C libraries (ONNX Runtime) allocate from.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_heap() {
    crate::alloc::collect();
    // SAFETY: `malloc_trim` takes no pointers and only walks glibc's own heap bookkeeping
    // under its arena locks; it is safe to call from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other C libraries return memory on their own terms: only mimalloc's is collected.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_heap() {
    crate::alloc::collect();
}
