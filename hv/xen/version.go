package xen

import "encoding/binary"

// xen_version sub-commands (xen/include/public/version.h).
const (
	XenverVersion            = 0
	XenverExtraversion       = 1
	XenverCompileInfo        = 2
	XenverCapabilities       = 3
	XenverChangeset          = 4
	XenverPlatformParameters = 5
	XenverGetFeatures        = 6
	XenverPagesize           = 7
	XenverGuestHandle        = 8
	XenverCommandline        = 9
	XenverBuildID            = 10
	XenverExtraversion2      = 11
	XenverCapabilities2      = 12
	XenverChangeset2         = 13
	XenverCommandline2       = 14
)

// XENFEAT bit numbers of submap 0 (xen/include/public/features.h).
const (
	XenfeatWritablePageTables       = 0
	XenfeatWritableDescriptorTables = 1
	XenfeatAutoTranslatedPhysmap    = 2
	XenfeatSupervisorModeKernel     = 3
	XenfeatPAEPgdirAbove4GB         = 4
	XenfeatMMUPTUpdatePreserveAD    = 5
	XenfeatHighmemAssist            = 6
	XenfeatGnttabMapAvailBits       = 7
	XenfeatHVMCallbackVector        = 8
	XenfeatHVMSafePVClock           = 9
	XenfeatHVMPirqs                 = 10
	XenfeatDom0                     = 11
	XenfeatGrantMapIdentity         = 12
	XenfeatMemoryOpVnodeSupported   = 13
	XenfeatARMSMCCCSupported        = 14
	XenfeatLinuxRSDPUnrestricted    = 15
	XenfeatNotDirectMapped          = 16
	XenfeatDirectMapped             = 17
	XenfeatRunstatePhysArea         = 18
	XenfeatVCPUTimePhysArea         = 19
	XenfeatDMMSIXAllWrites          = 20
	// XenfeatNrSubmaps is the number of 32-bit feature submaps.
	XenfeatNrSubmaps = 1
)

// xenDeny is what Xen reports in place of information XSM denies
// (xen_deny in xen/common/version.c).
const xenDeny = "<denied>"

// varbufMax is xenver_varbuf_op's arbitrary limit on a string's length.
const varbufMax = 64 << 10

// cString returns s as a NUL-padded field of n bytes, truncated to n-1 bytes
// so that it stays NUL-terminated (Xen's safe_strcpy into a zeroed buffer).
func cString(s string, n int) []byte {
	b := make([]byte, n)
	copy(b[:n-1], s)
	return b
}

// xenVersion mirrors do_xen_version (xen/common/kernel.c) for a domU under
// the XSM dummy policy (xsm_xen_version): version, platform_parameters and
// get_features are always answered; extraversion, compile_info,
// capabilities, changeset, pagesize, guest_handle and the *2 forms of the
// first three are allowed; commandline reports "<denied>", and build_id and
// commandline2 fail with -EPERM.
func (x *Dispatcher) xenVersion(v VCPU, cmd int32, arg uint64) int64 {
	switch cmd {
	case XenverVersion:
		return int64(x.opts.Major)<<16 | int64(x.opts.Minor)

	case XenverExtraversion:
		return copyOutOrFault(v, arg, cString(x.opts.Extraversion, extraversionSize))

	case XenverCompileInfo:
		b := make([]byte, compileInfoSize)
		copy(b[compileInfoCompiler:], cString(x.opts.Compiler, compileInfoCompilerLen))
		copy(b[compileInfoBy:], cString(x.opts.CompileBy, compileInfoByLen))
		copy(b[compileInfoDomain:], cString(x.opts.CompileDomain, compileInfoDomainLen))
		copy(b[compileInfoDate:], cString(x.opts.CompileDate, compileInfoDateLen))
		return copyOutOrFault(v, arg, b)

	case XenverCapabilities:
		return copyOutOrFault(v, arg, cString(x.opts.Capabilities, capabilitiesSize))

	case XenverPlatformParameters:
		// virt_start is 0 for an HVM vCPU.
		return copyOutOrFault(v, arg, make([]byte, platformParametersSize))

	case XenverChangeset:
		return copyOutOrFault(v, arg, cString(x.opts.Changeset, changesetSize))

	case XenverGetFeatures:
		var fi [featureInfoSize]byte
		if !copyIn(v, arg, fi[:]) {
			return EFAULT.Ret()
		}
		if binary.LittleEndian.Uint32(fi[featureInfoSubmapIdx:]) != 0 {
			return EINVAL.Ret()
		}
		binary.LittleEndian.PutUint32(fi[featureInfoSubmap:], x.opts.Features)
		return copyOutOrFault(v, arg, fi[:])

	case XenverPagesize:
		if arg != 0 {
			return EINVAL.Ret()
		}
		return PageSize

	case XenverGuestHandle:
		return copyOutOrFault(v, arg, x.opts.GuestHandle[:])

	case XenverCommandline:
		// Denied to a domU: Xen copies "<denied>" and its NUL only.
		return copyOutOrFault(v, arg, append([]byte(xenDeny), 0))

	case XenverBuildID, XenverCommandline2:
		return EPERM.Ret()

	case XenverExtraversion2:
		return varbuf(v, arg, x.opts.Extraversion)
	case XenverCapabilities2:
		return varbuf(v, arg, x.opts.Capabilities)
	case XenverChangeset2:
		return varbuf(v, arg, x.opts.Changeset)
	}
	return ENOSYS.Ret()
}

// varbuf mirrors xenver_varbuf_op: a null arg asks for the length; otherwise
// the xen_varbuf's len must hold the string, which is copied without a NUL.
// It returns the string's length.
func varbuf(v VCPU, arg uint64, s string) int64 {
	if len(s) > varbufMax {
		return E2BIG.Ret()
	}
	if arg == 0 {
		return int64(len(s))
	}
	var hdr [varbufHeaderSize]byte
	if !copyIn(v, arg, hdr[:]) {
		return EFAULT.Ret()
	}
	if uint64(len(s)) > uint64(binary.LittleEndian.Uint32(hdr[varbufLen:])) {
		return ENOBUFS.Ret()
	}
	if len(s) > 0 && !copyOut(v, arg+varbufBuf, []byte(s)) {
		return EFAULT.Ret()
	}
	return int64(len(s))
}

// copyOutOrFault copies b to the guest and returns 0, or -EFAULT.
func copyOutOrFault(v VCPU, gva uint64, b []byte) int64 {
	if !copyOut(v, gva, b) {
		return EFAULT.Ret()
	}
	return 0
}
