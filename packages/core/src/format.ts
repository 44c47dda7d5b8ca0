/**
 * How aekit writes a measured number, everywhere it shows one (the command line, the
 * playground, reports): `digits` significant digits; numbers of more integer digits than
 * that rounded to integers (`204.5`, `12346`); scientific only below 1e-4 (`1.910e-6`);
 * integers (counts) plain. Trailing zeros are kept so that columns compare (`0.06116`,
 * `0.03350`), unless `trim` (tick values on an axis: `0.5`, not `0.5000`).
 */
export function formatNumber(v: number, digits = 4, trim = false): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a < 1e-4) {
    const [mantissa, exponent] = v.toExponential(digits - 1).split('e');
    return `${trim ? String(Number(mantissa)) : mantissa}e${Number(exponent)}`;
  }
  const rounded = v.toPrecision(digits);
  if (Math.abs(Number(rounded)) >= 10 ** digits) return String(Math.round(v));
  return trim ? String(Number(rounded)) : rounded;
}
