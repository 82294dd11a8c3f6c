# The MPI adapter modules (librankwrap_mpi_<flavor>.so, dlopen'ed by
# --nccl-bootstrap=mpi), one per MPI flavour found, from three sources in
# this order (the first to give a flavour wins):
#   1. pkg-config: ompi-c, mpich (Debian's MPIs)          RANKWRAP_MPI_PKGCONFIG
#   2. the wrapper compilers in RANKWRAP_MPI_WRAPPERS, asked for their flags
#      (Cray PE's CC/cc --cray-print-opts, Open MPI's --showme, the MPICH
#      family's -show: MPICH, Intel MPI mpiicpx/mpiicpc, MVAPICH, HPE MPT)
#   3. CMake's FindMPI (the MPI in PATH, e.g. a loaded site module)  RANKWRAP_MPI_FINDMPI
# The flavour is what mpi.h says: OPEN_MPI -> openmpi; MPICH_VERSION (MPICH,
# Intel MPI, MVAPICH, Cray MPICH: one ABI) -> mpich; else the wrapper's
# name. The bootstrap loads openmpi under mpirun, mpich under hydra, and
# RANKWRAP_MPI_DEFAULT elsewhere (Slurm, PALS); RANKWRAP_MPI_MODULE=PATH
# overrides (docs/install.md).
set(RANKWRAP_MPI_DEFAULT "openmpi" CACHE STRING "MPI module used when the launcher does not tell: openmpi or mpich")
option(RANKWRAP_MPI_PKGCONFIG "Build MPI modules for the MPIs pkg-config knows (ompi-c, mpich)" ON)
set(RANKWRAP_MPI_WRAPPERS "CC;cc;mpiicpx;mpiicpc;mpicxx" CACHE STRING
    "MPI wrapper compilers to build MPI modules for, where found in PATH (names or paths)")
option(RANKWRAP_MPI_FINDMPI "Build an MPI module for the MPI CMake's FindMPI finds" ON)
set(RANKWRAP_MPI_FLAVORS "")

# rankwrap_mpi_flavor(OUT FALLBACK COMMAND...): the flavour of the mpi.h that
# COMMAND (a preprocessor run over an #include <mpi.h>) sees, or "" if it fails.
set(rankwrap_mpi_probe ${PROJECT_BINARY_DIR}/mpi_probe.cc)
file(WRITE ${rankwrap_mpi_probe} "#include <mpi.h>\n")
function(rankwrap_mpi_flavor out fallback)
  execute_process(COMMAND ${ARGN} -E -dM ${rankwrap_mpi_probe} OUTPUT_VARIABLE macros ERROR_QUIET RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    set(${out} "" PARENT_SCOPE)
  elseif(macros MATCHES "#define OPEN_MPI ")
    set(${out} openmpi PARENT_SCOPE)
  elseif(macros MATCHES "#define MPICH_VERSION ")
    set(${out} mpich PARENT_SCOPE)
  else()
    set(${out} ${fallback} PARENT_SCOPE)
  endif()
endfunction()

# rankwrap_add_mpi_module(FLAVOR FROM TARGET): the module for FLAVOR built
# against TARGET (an imported target with MPI's flags), unless one exists.
function(rankwrap_add_mpi_module flavor from target)
  if(flavor IN_LIST RANKWRAP_MPI_FLAVORS)
    message(STATUS "rankwrap MPI module ${flavor}: already from an earlier source; ${from} not used")
    return()
  endif()
  add_library(rankwrap_mpi_${flavor} MODULE ${PROJECT_SOURCE_DIR}/src/adapters/mpi/mpi_module.cc)
  target_include_directories(rankwrap_mpi_${flavor} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(rankwrap_mpi_${flavor} PRIVATE ${target})
  # The C API only: no C++ bindings (Open MPI's pull in libmpi_cxx).
  target_compile_definitions(rankwrap_mpi_${flavor} PRIVATE OMPI_SKIP_MPICXX MPICH_SKIP_MPICXX)
  set_target_properties(rankwrap_mpi_${flavor} PROPERTIES PREFIX "lib" OUTPUT_NAME "rankwrap_mpi_${flavor}"
                        LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
  rankwrap_target_flags(rankwrap_mpi_${flavor})
  list(APPEND RANKWRAP_MPI_FLAVORS ${flavor})
  set(RANKWRAP_MPI_FLAVORS ${RANKWRAP_MPI_FLAVORS} PARENT_SCOPE)
  message(STATUS "rankwrap MPI module ${flavor}: from ${from}")
endfunction()

# rankwrap_wrapper_flags(OUT_COMPILE OUT_LINK WRAPPER): what WRAPPER adds to
# a compile and to a link, asked the way its family answers.
function(rankwrap_wrapper_flags out_compile out_link wrapper)
  set(compile "")
  set(link "")
  execute_process(COMMAND ${wrapper} --cray-print-opts=cflags OUTPUT_VARIABLE compile ERROR_QUIET RESULT_VARIABLE rc)
  if(rc EQUAL 0 AND compile)
    execute_process(COMMAND ${wrapper} --cray-print-opts=libs OUTPUT_VARIABLE link ERROR_QUIET)
  else()
    execute_process(COMMAND ${wrapper} --showme:compile OUTPUT_VARIABLE compile ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND compile)
      execute_process(COMMAND ${wrapper} --showme:link OUTPUT_VARIABLE link ERROR_QUIET)
    else()
      # MPICH family: "-show" prints the whole command line; drop the compiler.
      execute_process(COMMAND ${wrapper} -show OUTPUT_VARIABLE compile ERROR_QUIET RESULT_VARIABLE rc)
      if(NOT rc EQUAL 0)
        set(compile "")
      endif()
      separate_arguments(compile UNIX_COMMAND "${compile}")
      list(POP_FRONT compile)
      list(JOIN compile " " compile)
      set(link "${compile}")
    endif()
  endif()
  separate_arguments(compile UNIX_COMMAND "${compile}")
  separate_arguments(link UNIX_COMMAND "${link}")
  list(FILTER compile INCLUDE REGEX "^-[ID]|^-pthread$")
  list(FILTER link EXCLUDE REGEX "^-[ID]|^-c$|^-o$")
  # The C library only (the module defines *_SKIP_MPICXX).
  list(FILTER link EXCLUDE REGEX "^-l(mpi_cxx|mpichcxx|mpicxx)$")
  set(${out_compile} "${compile}" PARENT_SCOPE)
  set(${out_link} "${link}" PARENT_SCOPE)
endfunction()

if(RANKWRAP_MPI_PKGCONFIG)
  pkg_check_modules(RW_OMPI IMPORTED_TARGET ompi-c)
  pkg_check_modules(RW_MPICH IMPORTED_TARGET mpich)
  if(RW_OMPI_FOUND)
    rankwrap_add_mpi_module(openmpi "pkg-config ompi-c" PkgConfig::RW_OMPI)
  endif()
  if(RW_MPICH_FOUND)
    rankwrap_add_mpi_module(mpich "pkg-config mpich" PkgConfig::RW_MPICH)
  endif()
endif()

foreach(wrapper ${RANKWRAP_MPI_WRAPPERS})
  unset(path)  # find_program does not search again while the variable is set
  find_program(path NAMES ${wrapper} NO_CACHE)
  if(NOT path)
    continue()
  endif()
  rankwrap_wrapper_flags(compile link ${path})
  if(NOT compile AND NOT link)
    continue()  # not an MPI wrapper (a plain cc), or one that does not say
  endif()
  get_filename_component(name ${path} NAME)
  string(MAKE_C_IDENTIFIER "${name}" name)
  rankwrap_mpi_flavor(flavor ${name} ${CMAKE_CXX_COMPILER} ${compile})
  if(NOT flavor)
    message(STATUS "rankwrap MPI modules: ${path} gives flags but its mpi.h does not preprocess; skipped")
    continue()
  endif()
  if(NOT TARGET rankwrap_mpi_wrapper_${name})
    add_library(rankwrap_mpi_wrapper_${name} INTERFACE IMPORTED)
    set(defs ${compile})
    set(dirs ${compile})
    list(FILTER dirs INCLUDE REGEX "^-I")
    list(TRANSFORM dirs REPLACE "^-I" "")
    list(FILTER defs EXCLUDE REGEX "^-I")
    # Libraries after the objects (a module links with undefined symbols
    # allowed, so a -lmpi placed before them would be silently dropped).
    set(libs ${link})
    list(FILTER libs INCLUDE REGEX "^-l|\\.(so|a)$")
    set(libdirs ${link})
    list(FILTER libdirs INCLUDE REGEX "^-L")
    list(TRANSFORM libdirs REPLACE "^-L" "")
    list(FILTER link EXCLUDE REGEX "^-l|^-L|\\.(so|a)$")
    set_target_properties(rankwrap_mpi_wrapper_${name} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${dirs}"
                          INTERFACE_COMPILE_OPTIONS "${defs}" INTERFACE_LINK_OPTIONS "${link}"
                          INTERFACE_LINK_DIRECTORIES "${libdirs}" INTERFACE_LINK_LIBRARIES "${libs}")
  endif()
  rankwrap_add_mpi_module(${flavor} "wrapper ${path}" rankwrap_mpi_wrapper_${name})
endforeach()

if(RANKWRAP_MPI_FINDMPI)
  # The CXX component (this project has no C compiler enabled), C API only.
  set(MPI_CXX_SKIP_MPICXX ON)
  find_package(MPI COMPONENTS CXX QUIET)
  if(MPI_CXX_FOUND)
    set(dirs ${MPI_CXX_INCLUDE_DIRS})
    list(TRANSFORM dirs PREPEND "-I")
    rankwrap_mpi_flavor(flavor findmpi ${CMAKE_CXX_COMPILER} ${dirs})
    if(flavor AND NOT TARGET rankwrap_mpi_findmpi)
      # MPI::MPI_CXX less the C++ bindings' library.
      set(libs ${MPI_CXX_LIBRARIES})
      list(FILTER libs EXCLUDE REGEX "(mpi_cxx|mpichcxx|mpicxx)[^/]*$")
      separate_arguments(link UNIX_COMMAND "${MPI_CXX_LINK_FLAGS}")
      add_library(rankwrap_mpi_findmpi INTERFACE IMPORTED)
      set_target_properties(rankwrap_mpi_findmpi PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${MPI_CXX_INCLUDE_DIRS}"
                            INTERFACE_COMPILE_OPTIONS "${MPI_CXX_COMPILE_OPTIONS}" INTERFACE_LINK_OPTIONS "${link}"
                            INTERFACE_LINK_LIBRARIES "${libs}")
    endif()
    if(flavor)
      rankwrap_add_mpi_module(${flavor} "FindMPI (${MPI_CXX_COMPILER})" rankwrap_mpi_findmpi)
    endif()
  endif()
endif()

message(STATUS "rankwrap MPI modules: ${RANKWRAP_MPI_FLAVORS} (default ${RANKWRAP_MPI_DEFAULT})")
if(RANKWRAP_MPI_FLAVORS AND NOT RANKWRAP_MPI_DEFAULT IN_LIST RANKWRAP_MPI_FLAVORS)
  message(WARNING "RANKWRAP_MPI_DEFAULT=${RANKWRAP_MPI_DEFAULT} but no such MPI module is built "
                  "(${RANKWRAP_MPI_FLAVORS}): under Slurm or PALS, --nccl-bootstrap=mpi will not find it; "
                  "set -DRANKWRAP_MPI_DEFAULT to one of them")
endif()
