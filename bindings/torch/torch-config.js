#!/usr/bin/env node
// Compiler and linker flags for the libtorch addon, used by binding.gyp.
//   default:                       Debian's libtorch-dev 1.13 (CPU, OpenBLAS)
//   MALA_TS_LIBTORCH=<dir>:        a libtorch from a PyTorch installation, e.g.
//                                  .../site-packages/torch (CUDA builds link the CUDA backend),
//                                  or an unpacked libtorch zip (it has include/ and lib/ too).
// Usage: node torch-config.js include|libs|cflags|describe
'use strict';
const fs = require('fs');
const path = require('path');

function fromTorchDir(dir) {
  const lib = path.join(dir, 'lib');
  const inc = path.join(dir, 'include');
  if (!fs.existsSync(path.join(inc, 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h'))) {
    throw new Error(`MALA_TS_LIBTORCH=${dir}: no include/torch/csrc/api/include/torch/torch.h there (point it at site-packages/torch)`);
  }
  const has = (name) => fs.existsSync(path.join(lib, `lib${name}.so`));
  const cuda = has('torch_cuda');
  // --no-as-needed: nothing references libtorch_cuda directly, but loading it registers the CUDA backend.
  const libs = [`-L${lib}`, `-Wl,-rpath,${lib}`, '-Wl,--no-as-needed', '-ltorch', '-ltorch_cpu', '-lc10'];
  if (cuda) libs.push('-ltorch_cuda', '-lc10_cuda');
  libs.push('-Wl,--as-needed');
  // pip wheels get cuBLAS/cuDNN from the nvidia-* wheels next to torch/.
  const nvidia = path.join(path.dirname(dir), 'nvidia');
  if (fs.existsSync(nvidia)) {
    for (const d of fs.readdirSync(nvidia)) {
      const l = path.join(nvidia, d, 'lib');
      if (fs.existsSync(l)) libs.push(`-Wl,-rpath,${l}`);
    }
  }
  return { include: [inc, path.join(inc, 'torch', 'csrc', 'api', 'include')], libs, abi: abiFrom(dir), cuda, dir };
}

// The C++ ABI must match the one libtorch was built with; TorchConfig.cmake records it.
function abiFrom(dir) {
  const candidates = [path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '/usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake', '/usr/lib/aarch64-linux-gnu/cmake/Torch/TorchConfig.cmake'];
  if (process.env.MALA_TS_TORCH_CXX11_ABI) return process.env.MALA_TS_TORCH_CXX11_ABI;
  for (const c of candidates) {
    if (!fs.existsSync(c)) continue;
    const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(fs.readFileSync(c, 'utf8'));
    if (m) return m[1];
    break;
  }
  return '1';
}

function debian() {
  return { include: ['/usr/include/torch/csrc/api/include'], libs: ['-Wl,--no-as-needed', '-ltorch', '-ltorch_cpu', '-lc10', '-Wl,--as-needed'], abi: abiFrom('/nonexistent'), cuda: false, dir: '/usr' };
}

const cfg = process.env.MALA_TS_LIBTORCH ? fromTorchDir(path.resolve(process.env.MALA_TS_LIBTORCH)) : debian();
const what = process.argv[2];
if (what === 'include') console.log(cfg.include.join(' '));
else if (what === 'libs') console.log(cfg.libs.join(' '));
else if (what === 'cflags') console.log([`-D_GLIBCXX_USE_CXX11_ABI=${cfg.abi}`, cfg.cuda ? '-DMALA_TS_WITH_CUDA=1' : ''].filter(Boolean).join(' '));
else console.log(JSON.stringify(cfg, null, 2));
