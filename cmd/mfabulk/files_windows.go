//go:build windows

package main

// noFollow is 0 on Windows: mfabulk creates with os.O_CREATE|os.O_EXCL,
// which is CREATE_NEW, and that fails on anything at the path, a link
// too, instead of following it; handles are not inherited by default.
const noFollow = 0
