import { strict as assert } from 'node:assert';
import { Fft3d, fftwVersion } from '../../bindings/fftw';

/** Naive 3D DFT (sign −1 forward), complex interleaved, last index fastest. */
function naiveDft(x: Float64Array, n: [number, number, number], sign: number): Float64Array {
  const [n0, n1, n2] = n;
  const out = new Float64Array(x.length);
  for (let a = 0; a < n0; a++)
    for (let b = 0; b < n1; b++)
      for (let c = 0; c < n2; c++) {
        let re = 0;
        let im = 0;
        for (let i = 0; i < n0; i++)
          for (let j = 0; j < n1; j++)
            for (let k = 0; k < n2; k++) {
              const ph = sign * 2 * Math.PI * ((a * i) / n0 + (b * j) / n1 + (c * k) / n2);
              const p = 2 * ((i * n1 + j) * n2 + k);
              re += x[p] * Math.cos(ph) - x[p + 1] * Math.sin(ph);
              im += x[p] * Math.sin(ph) + x[p + 1] * Math.cos(ph);
            }
        const q = 2 * ((a * n1 + b) * n2 + c);
        out[q] = re;
        out[q + 1] = im;
      }
  return out;
}

describe('bindings/fftw', () => {
  it('loads Debian libfftw3 and reports its version', () => {
    assert.match(fftwVersion(), /^fftw-3\./);
  });

  it('forward and backward match a naive DFT on a 4×5×6 grid (radix 2, 3, 5), z fastest', () => {
    const n: [number, number, number] = [4, 5, 6];
    const x = new Float64Array(2 * 120);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(1.7 * i) + 0.3 * Math.cos(0.37 * i * i);
    const fft = new Fft3d(...n);
    for (const sign of [-1, 1]) {
      const y = x.slice();
      if (sign < 0) fft.forward(y);
      else fft.backward(y);
      const ref = naiveDft(x, n, sign);
      let err = 0;
      for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] - ref[i]));
      assert.ok(err < 1e-11, `sign ${sign}: max error ${err}`);
    }
    assert.equal(fft.count, 2);
    fft.dispose();
  });

  it('backward(forward(x)) = N·x on the Be2 grid 18×18×27', () => {
    const fft = new Fft3d(18, 18, 27);
    const x = new Float64Array(2 * fft.size).map((_, i) => Math.cos(0.01 * i));
    const y = x.slice();
    fft.forward(y);
    fft.backward(y);
    let err = 0;
    for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] / fft.size - x[i]));
    assert.ok(err < 1e-13, `round trip error ${err}`);
    fft.dispose();
  });

  it('rejects arrays of the wrong length and bad grids', () => {
    const fft = new Fft3d(2, 2, 2);
    assert.throws(() => fft.forward(new Float64Array(8)), /expected 16/);
    fft.dispose();
    assert.throws(() => new Fft3d(0, 2, 2), /invalid FFT grid/);
  });
});
