//! The host's allocator: mimalloc instead of the system's malloc, for every binary built on
//! this library (the server, the test host, benchmarks).
//!
//! A request with a large label config allocates hundreds of megabytes for a moment. glibc
//! keeps what each thread's arena freed (790 MB resident after a burst of such requests,
//! still 200 MB with one arena); mimalloc gives freed pages back, and is faster on the many
//! small allocations of an ordinary request. Transparent huge pages are off for its memory
//! (`no_thp`): a huge page is only returned when all of it is free.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Returns the memory mimalloc holds free to the operating system now, instead of when the
/// threads that freed it next allocate. Takes a few milliseconds: for after rare large work
/// (a compilation, a large request), not for every request.
pub fn collect() {
    // SAFETY: `mi_collect` takes no pointers; it walks mimalloc's own heaps, which it
    // synchronises itself, and may be called from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}
