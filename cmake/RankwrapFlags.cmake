# Per-target compiler flags; nothing here edits CMAKE_CXX_FLAGS.
function(rankwrap_target_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion)
  if(RANKWRAP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(RANKWRAP_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${RANKWRAP_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${RANKWRAP_SANITIZE})
  endif()
endfunction()
