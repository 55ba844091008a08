//! A hint to the processor that memory will be read soon.
//!
//! With thousands of servers a run's state no longer fits in the caches, and what an event
//! reads is a likely miss; where the engine knows early what the next step will read (the
//! next event's request, the ring segment of the next arrival's hash), it asks for it
//! then, and the load overlaps the work in between instead of stalling it.

/// Asks the processor to bring the cache line holding `address` closer; a no-op where
/// there is no such instruction. A prefetch never faults, whatever the address.
#[inline(always)]
pub fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch does not dereference its address and cannot fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
