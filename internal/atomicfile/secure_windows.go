//go:build windows

package atomicfile

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On Windows, mode bits mean nothing: who may change a folder or a file
// is its owner and its access control list (DACL). mfabulk sets no DACL
// of its own: a file it creates inherits its folder's, and the folder is
// checked below to let no one but the caller, SYSTEM and Administrators
// change it, which the folders of a user profile do by default.

// writeAccess is every right on a folder that lets its holder add,
// rename, replace or remove entries, or give itself those rights.
const writeAccess = fileAddFile | fileAddSubdirectory | fileDeleteChild |
	windows.DELETE | windows.WRITE_DAC | windows.WRITE_OWNER | windows.GENERIC_WRITE | windows.GENERIC_ALL |
	windows.MAXIMUM_ALLOWED

// Rights on a folder (winnt.h), which x/sys/windows does not name.
const (
	fileAddFile         = 0x0002
	fileAddSubdirectory = 0x0004
	fileDeleteChild     = 0x0040
)

// ACE types that grant nothing: a deny, audit and alarm entries, labels
// and attributes.
var grantsNothing = map[uint8]bool{
	0x01: true, // ACCESS_DENIED
	0x02: true, // SYSTEM_AUDIT
	0x03: true, // SYSTEM_ALARM
	0x06: true, // ACCESS_DENIED_OBJECT
	0x07: true, // SYSTEM_AUDIT_OBJECT
	0x08: true, // SYSTEM_ALARM_OBJECT
	0x0A: true, // ACCESS_DENIED_CALLBACK
	0x0D: true, // SYSTEM_AUDIT_CALLBACK
	0x0E: true, // SYSTEM_ALARM_CALLBACK
	0x0F: true, // SYSTEM_AUDIT_CALLBACK_OBJECT
	0x10: true, // SYSTEM_ALARM_CALLBACK_OBJECT
	0x11: true, // SYSTEM_MANDATORY_LABEL
	0x12: true, // SYSTEM_RESOURCE_ATTRIBUTE
	0x13: true, // SYSTEM_SCOPED_POLICY_ID
	0x14: true, // SYSTEM_PROCESS_TRUST_LABEL
}

// checkSecureHandle is the Windows [CheckSecure]: it refuses a folder
// owned by someone other than the caller, SYSTEM or Administrators (the
// owner can always change the DACL), and one whose DACL lets anyone else
// add, rename or remove entries (Users, Authenticated Users, Everyone, or
// another user), as a folder made directly under C:\ does. Deny entries
// are not credited: a folder is refused on its allow entries alone.
func checkSecureHandle(path string, h windows.Handle) error {
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("checking folder %s: %w", path, err)
	}
	owner, _, err := sd.Owner()
	if err == nil && owner == nil {
		err = errors.New("it has no owner")
	}
	if err != nil {
		return fmt.Errorf("checking folder %s: %w", path, err)
	}
	if ok, err := trusted(owner); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("folder %s has unsafe permissions: it is owned by %s, not by you, and its owner could rename or replace outfiles and intents; choose a folder in your user profile", path, accountName(owner))
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return fmt.Errorf("folder %s has unsafe permissions: it has no access control list, so everyone can change it; choose a folder in your user profile", path)
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return fmt.Errorf("checking folder %s: %w", path, err)
		}
		if ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 || grantsNothing[ace.Header.AceType] {
			continue
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE {
			return fmt.Errorf("folder %s has an access control entry of type %#x that mfabulk cannot check; choose a folder in your user profile", path, ace.Header.AceType)
		}
		if uint32(ace.Mask)&writeAccess == 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if ok, err := trusted(sid); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("folder %s has unsafe permissions: %s can write it (access mask %#x) and could rename or replace outfiles and intents; run: icacls \"%s\" /inheritance:d, then icacls \"%s\" /remove:g \"%s\", or choose a folder in your user profile", path, accountName(sid), uint32(ace.Mask), path, path, accountName(sid))
		}
	}
	return nil
}

// trusted reports whether sid is the caller, SYSTEM, Administrators, or
// OWNER RIGHTS (the owner, checked separately).
func trusted(sid *windows.SID) (bool, error) {
	if ok, err := isCaller(sid); ok || err != nil {
		return ok, err
	}
	for _, t := range []windows.WELL_KNOWN_SID_TYPE{windows.WinLocalSystemSid, windows.WinBuiltinAdministratorsSid, windows.WinCreatorOwnerRightsSid} {
		if sid.IsWellKnown(t) {
			return true, nil
		}
	}
	return false, nil
}

// callerSIDs are the user of the process's token and the owner the token
// gives the files it creates (Administrators, when elevated).
var callerSIDs = sync.OnceValues(func() ([]*windows.SID, error) {
	tok := windows.GetCurrentProcessToken()
	user, err := tok.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("reading the current user: %w", err)
	}
	u, err := user.User.Sid.Copy()
	if err != nil {
		return nil, err
	}
	buf := make([]uintptr, 64) // TOKEN_OWNER: a SID pointer, then the SID; pointer-aligned
	var n uint32
	if err := windows.GetTokenInformation(tok, windows.TokenOwner, (*byte)(unsafe.Pointer(&buf[0])), uint32(len(buf))*uint32(unsafe.Sizeof(buf[0])), &n); err != nil {
		return nil, fmt.Errorf("reading the current user's default owner: %w", err)
	}
	owner, err := (*(**windows.SID)(unsafe.Pointer(&buf[0]))).Copy()
	runtime.KeepAlive(buf)
	if err != nil {
		return nil, err
	}
	return []*windows.SID{u, owner}, nil
})

// isCaller reports whether sid is the caller (see callerSIDs).
func isCaller(sid *windows.SID) (bool, error) {
	sids, err := callerSIDs()
	if err != nil {
		return false, err
	}
	for _, s := range sids {
		if s.Equals(sid) {
			return true, nil
		}
	}
	return false, nil
}

// ownerOf reads the owner of an open file.
func ownerOf(h windows.Handle) (*windows.SID, error) {
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return nil, err
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return nil, err
	}
	if owner == nil {
		return nil, errors.New("it has no owner")
	}
	return owner.Copy()
}

// accountName is DOMAIN\name for sid, or the SID string.
func accountName(sid *windows.SID) string {
	if name, domain, _, err := sid.LookupAccount(""); err == nil {
		if domain != "" {
			return domain + `\` + name
		}
		return name
	}
	return sid.String()
}
