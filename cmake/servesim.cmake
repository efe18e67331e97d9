# Build helpers shared by every module directory.

# servesim_add_asset(<name> <file>): compile <file> into the binary under <name>
# (read back with base_asset_find("<name>")). Files live next to the module that owns them.
function(servesim_add_asset name file)
  get_filename_component(abs ${file} ABSOLUTE)
  set_property(GLOBAL APPEND PROPERTY SERVESIM_ASSET_NAMES ${name})
  set_property(GLOBAL APPEND PROPERTY SERVESIM_ASSET_FILES ${abs})
endfunction()

# Generates one C file holding every registered asset as a byte array plus the table that
# base/asset.c reads, and adds it to <target>.
function(servesim_finalize_assets target)
  get_property(names GLOBAL PROPERTY SERVESIM_ASSET_NAMES)
  get_property(files GLOBAL PROPERTY SERVESIM_ASSET_FILES)
  set(out ${CMAKE_BINARY_DIR}/generated/servesim_assets.c)
  set(args)
  list(LENGTH names n)
  if(n GREATER 0)
    math(EXPR last "${n} - 1")
    foreach(i RANGE ${last})
      list(GET names ${i} nm)
      list(GET files ${i} f)
      list(APPEND args ${nm} ${f})
    endforeach()
  endif()
  add_custom_command(OUTPUT ${out}
    COMMAND servesim-embedgen ${out} ${args}
    DEPENDS servesim-embedgen ${files}
    COMMENT "Embedding ${n} assets")
  # The rule lives in this directory; a custom target carries it to <target>'s directory.
  add_custom_target(servesim_assets_gen DEPENDS ${out})
  add_dependencies(${target} servesim_assets_gen)
  target_sources(${target} PRIVATE ${out})
endfunction()

# servesim_add_test(<name> SOURCES ... LIBS ...): one Criterion executable, registered with ctest.
function(servesim_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CRITERION)
  target_compile_definitions(${name} PRIVATE
    SERVESIM_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    SERVESIM_DATA_DIR="${CMAKE_SOURCE_DIR}/data"
    SERVESIM_BINARY="$<TARGET_FILE:servesim>")
  # One job per suite: Criterion's parallel runner leaks 48 bytes (caught by LSan); ctest runs
  # the suites in parallel instead.
  add_test(NAME ${name} COMMAND ${name} --jobs 1)
  if(T_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
  else()
    set_tests_properties(${name} PROPERTIES TIMEOUT 600)
  endif()
endfunction()
