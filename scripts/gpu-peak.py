#!/usr/bin/env python3
"""The GPU's measured matmul peak and PyTorch's own throughput on the same nets, as JSON
(scripts/gpu-check.sh divides the addon's GPU figures by these).

- sgemm 8192³ with TF32 off (fp32) and on (tf32), CUDA-event timed, median of 10;
- PyTorch (this python3's CUDA build) inference of the 91→400³→250 and Be nets, data resident on
  the device (no host transfers: an upper bound for the addon, whose figures include them) and with
  pinned host→device→host copies, at the batch sizes given, TF32 off (the addon's default).

usage: python3 scripts/gpu-peak.py 8192,65536,262144,1048576 > gpu-peak.json
"""
import json
import sys

import torch


def timed(f, reps=10, warm=3):
    for _ in range(warm):
        f()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        f()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) / 1e3)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    batches = [int(b) for b in (sys.argv[1] if len(sys.argv) > 1 else '8192,65536').split(',')]
    dev = torch.device('cuda')
    props = torch.cuda.get_device_properties(dev)
    out = {
        'torch': torch.__version__, 'cuda': torch.version.cuda, 'device': props.name,
        'memory_gib': props.total_memory / 2**30, 'sm_count': props.multi_processor_count,
        'sgemm': {}, 'pytorch_inference': [],
    }
    n = 8192
    x, y = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    for name, tf32 in (('fp32', False), ('tf32', True)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        s = timed(lambda: x @ y)
        out['sgemm'][name] = {'seconds': s, 'tflops': 2 * n**3 / s / 1e12}
    torch.backends.cuda.matmul.allow_tf32 = False
    del x, y
    nets = [('91→400→400→400→250', [91, 400, 400, 400, 250], 'LeakyReLU'), ('Be model 91→100→11', [91, 100, 11], 'ReLU')]
    for name, sizes, act in nets:
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
            if i + 2 < len(sizes) or act == 'LeakyReLU':
                layers.append(getattr(torch.nn, act)())
        net = torch.nn.Sequential(*layers).to(dev)
        macs = sum(sizes[i] * sizes[i + 1] for i in range(len(sizes) - 1))
        for b in batches:
            xd = torch.rand(b, sizes[0], device=dev)
            xh = torch.rand(b, sizes[0]).pin_memory()
            yh = torch.empty(b, sizes[-1]).pin_memory()
            with torch.no_grad():
                s_res = timed(lambda: net(xd), reps=5)
                s_io = timed(lambda: yh.copy_(net(xh.to(dev, non_blocking=True)), non_blocking=True), reps=5)
            out['pytorch_inference'].append({
                'net': name, 'batch': b,
                'resident_points_per_s': b / s_res, 'resident_tflops': 2 * macs * b / s_res / 1e12,
                'with_copies_points_per_s': b / s_io, 'with_copies_tflops': 2 * macs * b / s_io / 1e12,
            })
    print(json.dumps(out, indent=2))


if __name__ == '__main__':
    main()
