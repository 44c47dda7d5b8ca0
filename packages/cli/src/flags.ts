import { aekitError, type OptionInfo } from '@aekit/core';
import { BACKEND_NAMES } from '@aekit/trainers';
import { Option } from 'commander';

/**
 * A numeric flag's value (commander hands strings over): undefined when the flag is absent,
 * else a finite number, or an integer of at least `minInteger` when that is given.
 *
 * @throws AekitError `InvalidArgument` naming the flag and what it takes.
 */
export function numberFlag(
  value: string | undefined,
  flag: string,
  minInteger?: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (minInteger === undefined) {
    if (value.trim() === '' || !Number.isFinite(n)) {
      throw aekitError('InvalidArgument', `${flag} must be a number, not "${value}".`);
    }
    return n;
  }
  if (value.trim() === '' || !Number.isInteger(n) || n < minInteger) {
    const what =
      minInteger === 0
        ? 'a non-negative integer'
        : minInteger === 1
          ? 'a positive integer'
          : `an integer of at least ${minInteger}`;
    throw aekitError('InvalidArgument', `${flag} must be ${what}, not "${value}".`);
  }
  return n;
}

/** `--device` of the commands that run exported models with the runtime. */
export function runtimeDeviceOption(): Option {
  return new Option(
    '--device <name>',
    "where ONNX Runtime runs ('wasm': onnxruntime-web's WebAssembly build, as in browsers)",
  )
    .choices(['auto', 'cpu', 'webgpu', 'wasm'])
    .default('auto');
}

/** `--backend` of the commands that run a run's TensorFlow.js model. */
export function backendOption(): Option {
  return new Option('--backend <name>', 'compute backend')
    .choices([...BACKEND_NAMES])
    .default('auto');
}

/**
 * An option's help text: its description, choices and default, the default left out where
 * the option has none (an empty list reads `none`).
 */
export function optionHelp(info: OptionInfo): string {
  const extra = [
    ...(info.choices ? [`choices: ${info.choices.join(', ')}`] : []),
    ...(info.default !== undefined ? [`default: ${defaultText(info.default)}`] : []),
  ];
  return `${info.description}${extra.length > 0 ? ` (${extra.join('; ')})` : ''}`;
}

/** A default value as typed on the command line: lists comma-separated, an empty one `none`. */
export function defaultText(value: unknown): string {
  if (!Array.isArray(value)) return String(value);
  return value.length === 0 ? 'none' : value.join(',');
}
