# The C toolchain's pinned versions and where its tools live; sourced by install-toolchain
# and build, so both always agree.
#
# The Cargo-installed tools go to a private root (not ~/.cargo/bin) so other languages'
# scripts that pin other versions of the same tools cannot replace these, and so the tools
# survive a fresh checkout of the repository. Override with WASML_C_TOOLS.

# Debian 12 packages: clang 14 targeting wasm32-wasi (WASI preview1) with its sysroot.
C_APT_PACKAGES=(clang lld wasi-libc libclang-rt-14-dev-wasm32)
C_CLANG_MAJOR=14

# wit-bindgen 0.61.x matches the Rust guests' wit-bindgen 0.61.1; wasm-tools 1.258.3 uses
# the same wit-component (0.258) as that wit-bindgen.
C_WIT_BINDGEN_VERSION=0.61.1
C_WASM_TOOLS_VERSION=1.258.3

C_TOOLS="${WASML_C_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/wasml/c-toolchain}"
C_WIT_BINDGEN="$C_TOOLS/bin/wit-bindgen"
C_WASM_TOOLS="$C_TOOLS/bin/wasm-tools"
# The WASI preview1 reactor adapter of wasmtime 48 (tools/adapter pins the crate), and the
# SHA-256 of the file that crate version ships.
C_ADAPTER="$C_TOOLS/wasi_snapshot_preview1.reactor-48.0.8.wasm"
C_ADAPTER_SHA256=134b86dc09c6b62077f2307b96fa8b83b94dc86737bc705ac3dbe27cb107b1f9
