# Finds the libraries ChannelDeck builds against and generates the glad GL loader into the
# build tree. Nothing here is vendored source (DESIGN.md section 7).
#
# Two ways to find each library: CMake package configs (vcpkg, Homebrew, and the Windows
# cross-build's prefix from scripts/windows/build-deps.sh) and pkg-config (Debian). The
# result is one target name per library in a CDECK_* variable.
find_package(PkgConfig)
find_package(Threads REQUIRED)
find_package(CURL REQUIRED)  # CMake's module prefers curl's own CURLConfig.cmake
find_package(nlohmann_json 3.10 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)
if(WIN32)  # a static libcrypto needs the Windows socket and certificate libraries after it
  set_property(TARGET OpenSSL::Crypto APPEND PROPERTY INTERFACE_LINK_LIBRARIES ws2_32 crypt32)
endif()

# cdeck_find(VAR CONFIG_PACKAGE CONFIG_TARGET PKG_MODULE): VAR names the target found.
macro(cdeck_find var package target module)
  find_package(${package} CONFIG QUIET)
  if(TARGET ${target})
    set(${var} ${target})
  elseif(PKG_CONFIG_FOUND)
    pkg_check_modules(${var}_PC REQUIRED IMPORTED_TARGET ${module})
    set(${var} PkgConfig::${var}_PC)
  else()
    message(FATAL_ERROR "${package} not found: neither a CMake package config nor pkg-config")
  endif()
  message(STATUS "ChannelDeck: ${package} from ${${var}}")
endmacro()

cdeck_find(CDECK_RE2 re2 re2::re2 re2)  # moderation rules: linear-time regex

# cpp-httplib (graphsim and the node's webhook): a package config, Debian's compiled split
# (pkg-config), or the upstream single header (the Windows prefix).
find_package(httplib CONFIG QUIET)
if(TARGET httplib::httplib)
  set(CDECK_HTTPLIB httplib::httplib)
else()
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(HTTPLIB IMPORTED_TARGET cpp-httplib)
  endif()
  if(HTTPLIB_FOUND)
    set(CDECK_HTTPLIB PkgConfig::HTTPLIB)
  else()
    find_path(CDECK_HTTPLIB_INCLUDE httplib.h REQUIRED)
    add_library(cdeck_httplib INTERFACE)
    target_include_directories(cdeck_httplib SYSTEM INTERFACE ${CDECK_HTTPLIB_INCLUDE})
    target_compile_definitions(cdeck_httplib INTERFACE CPPHTTPLIB_OPENSSL_SUPPORT)
    target_link_libraries(cdeck_httplib INTERFACE OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
    if(WIN32)
      target_link_libraries(cdeck_httplib INTERFACE ws2_32 crypt32 cryptui)
    endif()
    set(CDECK_HTTPLIB cdeck_httplib)
  endif()
endif()

# The server tier (channeldeck-node, the desks' follow mode) needs libpq. Windows builds
# leave it out (README "Windows and macOS").
if(WIN32)
  set(CDECK_WITH_SERVER_DEFAULT OFF)
else()
  set(CDECK_WITH_SERVER_DEFAULT ON)
endif()
option(CDECK_WITH_SERVER "Build the server tier (PostgreSQL: node, follow mode)"
       ${CDECK_WITH_SERVER_DEFAULT})
if(CDECK_WITH_SERVER)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(LIBPQ IMPORTED_TARGET libpq)
  endif()
  if(LIBPQ_FOUND)
    set(CDECK_LIBPQ PkgConfig::LIBPQ)
  else()
    find_package(PostgreSQL REQUIRED)
    set(CDECK_LIBPQ PostgreSQL::PostgreSQL)
  endif()
endif()

if(CDECK_BUILD_APP OR CDECK_BUILD_TESTS)
  # Dear ImGui with its GLFW and OpenGL3 backends, the FreeType builder and stb.
  find_package(imgui CONFIG QUIET)
  if(TARGET imgui::imgui)
    set(CDECK_IMGUI imgui::imgui)
    find_package(Freetype QUIET)
    set(FREETYPE_FOUND ${Freetype_FOUND})
    # A static FreeType needs zlib after it on the link line, whatever came before.
    find_package(ZLIB QUIET)
    if(TARGET ZLIB::ZLIB)
      set_property(TARGET imgui::imgui APPEND PROPERTY INTERFACE_LINK_LIBRARIES ZLIB::ZLIB)
    endif()
  else()
    # Debian: imgui.pc also names stb; libimgui.a carries the GLFW and OpenGL3 backends and
    # the FreeType builder.
    pkg_check_modules(IMGUI REQUIRED IMPORTED_TARGET imgui)
    pkg_check_modules(FREETYPE IMPORTED_TARGET freetype2)
    if(FREETYPE_FOUND)  # libimgui.a's FreeType builder needs it after the archive
      set_property(TARGET PkgConfig::IMGUI APPEND PROPERTY INTERFACE_LINK_LIBRARIES
                   PkgConfig::FREETYPE)
    endif()
    set(CDECK_IMGUI PkgConfig::IMGUI)
  endif()
  message(STATUS "ChannelDeck: imgui from ${CDECK_IMGUI}")
endif()

if(CDECK_BUILD_APP)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(DBUS IMPORTED_TARGET dbus-1)  # desktop notifications; optional
  endif()
  find_package(glfw3 3.3 REQUIRED)
  find_package(OpenGL REQUIRED)
  find_program(GLAD_EXECUTABLE glad REQUIRED)
  set(GLAD_OUT "${CMAKE_BINARY_DIR}/glad")
  # --reproducible keeps glad from fetching the Khronos XML over the network.
  add_custom_command(
    OUTPUT "${GLAD_OUT}/src/gl.c" "${GLAD_OUT}/include/glad/gl.h"
    COMMAND "${GLAD_EXECUTABLE}" --quiet --reproducible --api gl:core=3.3 --extensions=
            --out-path "${GLAD_OUT}" c
    COMMENT "Generating the glad GL 3.3 core loader"
    VERBATIM)
  add_library(cdeck_glad STATIC "${GLAD_OUT}/src/gl.c")
  target_include_directories(cdeck_glad SYSTEM PUBLIC "${GLAD_OUT}/include")
  target_link_libraries(cdeck_glad PUBLIC ${CMAKE_DL_LIBS})
endif()

if(CDECK_BUILD_TESTS)
  find_package(doctest REQUIRED)
  include(doctest)
endif()
