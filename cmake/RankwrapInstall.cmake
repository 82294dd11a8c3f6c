# What `cmake --install` adds for a cluster's software tree, and the packages
# (docs/install.md): a pkg-config file, Lmod and Tcl module files, bash
# completion, the docs, and CPack's .deb (and .rpm where rpmbuild exists).
# Included from the top-level CMakeLists.txt after the targets' own install
# rules (it needs RANKWRAP_PYTHON_INSTALL_DIR from bindings/).

# ---- pkg-config: lib/pkgconfig/rankwrap.pc beside lib/cmake/rankwrap.
file(RELATIVE_PATH RANKWRAP_PC_PREFIX_REL ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" RANKWRAP_PC_PREFIX_REL "${RANKWRAP_PC_PREFIX_REL}")
configure_file(cmake/rankwrap.pc.in ${PROJECT_BINARY_DIR}/rankwrap.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/rankwrap.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- Module files: share/modulefiles/rankwrap/VERSION.lua (Lmod) and
# share/modulefiles/rankwrap/VERSION (Tcl: Environment Modules, which skips
# the .lua file; Lmod takes the .lua file when both are there).
set(modulefile_dir ${CMAKE_INSTALL_DATAROOTDIR}/modulefiles/rankwrap)
set(RANKWRAP_LUA_MODULEFILE ${modulefile_dir}/${PROJECT_VERSION}.lua)
set(RANKWRAP_TCL_MODULEFILE ${modulefile_dir}/${PROJECT_VERSION})
set(RANKWRAP_LUA_PYTHONPATH "-- (no Python module in this build)")
set(RANKWRAP_TCL_PYTHONPATH "# (no Python module in this build)")
if(TARGET rankwrap_python)
  set(RANKWRAP_LUA_PYTHONPATH "prepend_path(\"PYTHONPATH\", pathJoin(prefix, \"${RANKWRAP_PYTHON_INSTALL_DIR}\"))")
  set(RANKWRAP_TCL_PYTHONPATH "prepend-path PYTHONPATH $prefix/${RANKWRAP_PYTHON_INSTALL_DIR}")
endif()
configure_file(modulefiles/rankwrap.lua.in ${PROJECT_BINARY_DIR}/modulefiles/${PROJECT_VERSION}.lua @ONLY)
configure_file(modulefiles/rankwrap.tcl.in ${PROJECT_BINARY_DIR}/modulefiles/${PROJECT_VERSION} @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/modulefiles/${PROJECT_VERSION}.lua ${PROJECT_BINARY_DIR}/modulefiles/${PROJECT_VERSION}
        DESTINATION ${modulefile_dir})

# ---- bash completion, where bash-completion looks ($XDG_DATA_DIRS).
install(FILES completion/rankwrap.bash DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions
        RENAME rankwrap)

# ---- The docs (the man page's SEE ALSO points here).
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md" PATTERN "*.svg"
        PATTERN "man" EXCLUDE)

# ---- Packages: `cpack -G DEB` (and RPM) in the build tree. The package puts
# everything under /usr; the Python package lands in RANKWRAP_PYTHON_INSTALL_DIR
# (pass -DRANKWRAP_PYTHON_INSTALL_DIR=lib/python3/dist-packages for a
# Debian package that Debian's python3 finds without PYTHONPATH).
set(CPACK_PACKAGE_NAME rankwrap)
set(CPACK_PACKAGE_VENDOR "rankwrap")
set(CPACK_PACKAGE_CONTACT "rankwrap maintainers <rankwrap@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
find_program(RANKWRAP_RPMBUILD rpmbuild)
set(CPACK_GENERATOR DEB)
if(RANKWRAP_RPMBUILD)
  list(APPEND CPACK_GENERATOR RPM)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# The package's dependencies from the libraries its files link (libhwloc,
# libudev, the MPIs of the MPI modules): dpkg-shlibdeps (dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "see README.md")
set(CPACK_RPM_PACKAGE_GROUP "Applications/Engineering")
# /usr/share/modulefiles and the bash-completion tree are shared directories.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION /usr/share/modulefiles /usr/share/bash-completion
    /usr/share/bash-completion/completions /usr/lib/pkgconfig /usr/lib/cmake /usr/share/man /usr/share/man/man1
    /usr/share/doc /usr/include)
include(CPack)
