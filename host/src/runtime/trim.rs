//! Gives the compiler's scratch memory back to the operating system after a compilation.
//!
//! Cranelift allocates hundreds of MiB while it compiles a large component (the 17 MiB
//! Python build of `substring-matching`), on several threads. glibc keeps what they free in
//! per-thread arenas for reuse, so without a trim the host's resident memory stays at its
//! compile-time peak for as long as it runs, though models are rarely compiled again.

/// Returns free heap memory of every malloc arena to the OS (glibc `malloc_trim`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_heap() {
    // SAFETY: `malloc_trim` takes no pointers and only walks glibc's own heap bookkeeping
    // under its arena locks; it is safe to call from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory on their own terms: nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_heap() {}
