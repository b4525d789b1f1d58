# Finds the Debian packages ChannelDeck builds against and generates the glad GL loader
# into the build tree. Nothing here is vendored source (DESIGN.md section 7).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(CURL REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)  # moderation rules: linear-time regex
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)  # the shared store (server tier)

if(CDECK_BUILD_APP OR CDECK_BUILD_TESTS)
  # imgui.pc also names stb; libimgui.a carries the GLFW and OpenGL3 backends and
  # the FreeType builder.
  pkg_check_modules(IMGUI REQUIRED IMPORTED_TARGET imgui)
  pkg_check_modules(FREETYPE IMPORTED_TARGET freetype2)
  if(FREETYPE_FOUND)  # libimgui.a's FreeType builder needs it after the archive
    set_property(TARGET PkgConfig::IMGUI APPEND PROPERTY INTERFACE_LINK_LIBRARIES
                 PkgConfig::FREETYPE)
  endif()
endif()

if(CDECK_BUILD_APP)
  pkg_check_modules(DBUS IMPORTED_TARGET dbus-1)  # desktop notifications; optional
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
