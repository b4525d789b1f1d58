# Cross-compiling for 64-bit Windows with Debian's MinGW-w64 (the -posix thread model, for
# std::thread and std::mutex). CDECK_WINDOWS_PREFIX is where scripts/windows/build-deps.sh
# installed the dependencies; CMake package configs are found there first.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CDECK_MINGW x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${CDECK_MINGW}-gcc-posix)
set(CMAKE_CXX_COMPILER ${CDECK_MINGW}-g++-posix)
set(CMAKE_RC_COMPILER ${CDECK_MINGW}-windres)
set(CMAKE_AR ${CDECK_MINGW}-gcc-ar-posix CACHE FILEPATH "")
set(CMAKE_RANLIB ${CDECK_MINGW}-gcc-ranlib-posix CACHE FILEPATH "")
if(NOT CDECK_WINDOWS_PREFIX AND DEFINED ENV{CDECK_WINDOWS_PREFIX})
  set(CDECK_WINDOWS_PREFIX "$ENV{CDECK_WINDOWS_PREFIX}")
endif()
set(CDECK_WINDOWS_PREFIX "${CDECK_WINDOWS_PREFIX}" CACHE PATH "the Windows dependency prefix")
set(CMAKE_FIND_ROOT_PATH ${CDECK_WINDOWS_PREFIX} /usr/${CDECK_MINGW})
set(CMAKE_PREFIX_PATH ${CDECK_WINDOWS_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# One self-contained .exe each: no MinGW runtime DLLs to ship.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
# Tests and the build's own helper runs go through Wine (scripts/windows/wine-run).
set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/../scripts/windows/wine-run")
# pkg-config sees the Windows prefix only, never the build machine's Linux libraries.
set(ENV{PKG_CONFIG_LIBDIR} "${CDECK_WINDOWS_PREFIX}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
