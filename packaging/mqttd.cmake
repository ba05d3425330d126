# The Debian package: `cpack -G DEB` in a build directory (README: "Debian package"; .ci/package tests it).
# Included from the top CMakeLists.txt after the targets, whose install() rules put the programs in place:
# mqttd in sbin (a daemon, started by systemd), mqttd-passwd and mqttd-store in bin (run by the administrator).
#
# What only a system package may install (the configuration in /etc, the systemd unit) goes to the component
# "system", left out of a plain `cmake --install`, so that installing into a prefix never writes to /etc.

include(GNUInstallDirs)

set(mqttd_packaging_dir ${CMAKE_CURRENT_LIST_DIR})
set(mqttd_packaging_out ${PROJECT_BINARY_DIR}/packaging)
set(mqttd_deb_release 1)

# The package's version is project(VERSION) plus the Debian revision; the changelog's newest entry must say
# the same, so a version bump cannot ship with a changelog that describes the previous one.
file(STRINGS ${mqttd_packaging_dir}/changelog mqttd_changelog_head LIMIT_COUNT 1)
if(NOT mqttd_changelog_head MATCHES "^mqttd \\(${PROJECT_VERSION}-${mqttd_deb_release}\\) ")
    message(FATAL_ERROR "packaging/changelog: its first entry is \"${mqttd_changelog_head}\"; expected version "
                        "${PROJECT_VERSION}-${mqttd_deb_release} (project(VERSION) and the Debian revision)")
endif()

# The man pages' headers carry the version (@PROJECT_VERSION@). Debian ships man pages and changelogs
# gzipped, without a time stamp (-n) so that builds are reproducible.
find_program(MQTTD_GZIP gzip REQUIRED)
set(mqttd_gzipped)
foreach(pair IN ITEMS "mqttd.8;mqttd.8.gz" "mqttd.json.5;mqttd.json.5.gz" "changelog;changelog.Debian.gz")
    list(GET pair 0 source)
    list(GET pair 1 target)
    configure_file(${mqttd_packaging_dir}/${source} ${mqttd_packaging_out}/${source} @ONLY)
    add_custom_command(OUTPUT ${mqttd_packaging_out}/${target}
                       COMMAND ${MQTTD_GZIP} -9 -n -c ${mqttd_packaging_out}/${source} > ${mqttd_packaging_out}/${target}
                       DEPENDS ${mqttd_packaging_out}/${source}
                       COMMENT "gzip packaging/${source}")
    list(APPEND mqttd_gzipped ${mqttd_packaging_out}/${target})
endforeach()
add_custom_target(mqttd_packaging_files ALL DEPENDS ${mqttd_gzipped})

install(FILES ${mqttd_packaging_out}/mqttd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${mqttd_packaging_out}/mqttd.json.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${mqttd_packaging_dir}/copyright ${mqttd_packaging_out}/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Absolute paths: Debian's places, whatever the install prefix.
install(FILES ${mqttd_packaging_dir}/mqttd.json DESTINATION /etc/mqttd COMPONENT system EXCLUDE_FROM_ALL)
install(FILES ${mqttd_packaging_dir}/mqttd.service DESTINATION /lib/systemd/system COMPONENT system EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mqttd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "mqttd developers <dev@mqttd.local>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "MQTT 3.1.1 broker")
set(CPACK_PACKAGE_DESCRIPTION
    "mqttd is an MQTT 3.1.1 (and 3.1) broker in C++20 with one event loop per core.
It serves TCP, TLS, WebSocket and secure WebSocket listeners, QoS 0/1/2,
retained messages, wills, persistent sessions stored on disk (RocksDB),
shared subscriptions, and Mosquitto's password and ACL files.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

# One package holding the default component and "system".
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL Unspecified system)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)

set(CPACK_DEBIAN_PACKAGE_NAME mqttd)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${mqttd_deb_release})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared-library dependencies come from dpkg-shlibdeps on the binaries; adduser is what postinst runs, procps
# has the unit's /bin/kill (ExecReload).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "mosquitto-clients")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${mqttd_packaging_dir}/debian/conffiles
    ${mqttd_packaging_dir}/debian/postinst
    ${mqttd_packaging_dir}/debian/prerm
    ${mqttd_packaging_dir}/debian/postrm)
# Maintainer scripts 0755 and conffiles 0644, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
