/*
 * bcryptprimitives.dll for Wine 8.0, which lacks it: Go >= 1.22 takes its
 * random numbers from ProcessPrng and will not start without it. This shim
 * answers from RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 * internal/wintest builds it with Debian's x86_64-w64-mingw32-gcc for each
 * test run; no binary of it is ever committed.
 */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
