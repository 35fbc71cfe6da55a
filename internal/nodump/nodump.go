// Package nodump keeps mfabulk's memory out of core dumps. A create's
// response holds a device's seed in memory until it is sealed; a core dump
// taken then (a crash with GOTRACEBACK=crash, an abort, gcore) would write
// it to disk in plaintext. [Apply], called once at process start, sets the
// core file size limit to zero (soft and hard, so the process cannot raise
// it again) and, on Linux, marks the process non-dumpable, which also
// stops core dumps piped to a helper (core_pattern "|…", where the limit
// is not enforced by the kernel) and denies other users' ptrace and
// /proc/PID/mem. On Windows, where a crash is dumped by Windows Error
// Reporting rather than by a core file, Apply refuses the GOTRACEBACK
// settings that hand a crash to it.
package nodump
