//! Keeping the C allocator lean on a small board (glibc only; a no-op elsewhere).
//!
//! glibc gives each thread that allocates its own arena, and keeps freed memory for reuse.
//! On a Pi that means megabytes held after a burst (a login storm runs bcrypt on several
//! blocking threads; a presence storm fills every outbox for a moment). Two arenas are
//! plenty for one executor thread plus a few helpers, and trimming after bursts hands freed
//! pages back to the system.

#![allow(unsafe_code)]

/// Caps the number of malloc arenas. Call once, first thing in `main`.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; M_ARENA_MAX is a valid parameter, and
    // it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns freed heap memory to the system (cheap when there is little to give back).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim is thread-safe and only releases memory the allocator owns and
    // has already been freed.
    unsafe {
        libc::malloc_trim(0);
    }
}
