# aps_cc_library / aps_cc_test: every target of ours gets the same flags and an aps:: alias.
set(APS_WARNINGS -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wundef
                 -Wnon-virtual-dtor -Werror)
# GCC 12 reports false -Wrestrict positives inside libstdc++'s std::string at -O2 (GCC bug 105329).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND APS_WARNINGS -Wno-restrict)
endif()

if(APS_SANITIZE)
  add_compile_options(-fsanitize=${APS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  if(APS_SANITIZE MATCHES "undefined")
    # UBSan's vptr check needs RTTI, which the core (-fno-rtti) does not have.
    add_compile_options(-fno-sanitize=vptr)
  endif()
  add_link_options(-fsanitize=${APS_SANITIZE})
endif()

# aps_cc_library(NAME name SRCS ... [HDRS ...] [DEPS ...] [PRIVATE_DEPS ...] [CORE])
# CORE: must build with -fno-exceptions -fno-rtti (engine/, platform/).
function(aps_cc_library)
  cmake_parse_arguments(A "CORE" "NAME" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(aps_${A_NAME} STATIC ${A_SRCS})
  add_library(aps::${A_NAME} ALIAS aps_${A_NAME})
  set_target_properties(aps_${A_NAME} PROPERTIES EXPORT_NAME ${A_NAME} OUTPUT_NAME aps_${A_NAME}
                                                 POSITION_INDEPENDENT_CODE ON)
  target_include_directories(aps_${A_NAME} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/aps>)
  target_compile_features(aps_${A_NAME} PUBLIC cxx_std_20)
  target_compile_options(aps_${A_NAME} PRIVATE ${APS_WARNINGS})
  if(A_CORE)
    target_compile_options(aps_${A_NAME} PRIVATE -fno-exceptions -fno-rtti)
  endif()
  target_link_libraries(aps_${A_NAME} PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
  install(TARGETS aps_${A_NAME} EXPORT apsTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()

# aps_cc_test(NAME name SRCS ... [DEPS ...] [LABELS ...])
function(aps_cc_test)
  cmake_parse_arguments(A "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${A_NAME} ${A_SRCS})
  target_compile_options(${A_NAME} PRIVATE ${APS_WARNINGS} -Wno-conversion)
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${A_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "unit;${A_LABELS}")
endfunction()
