// What a head-layer kind is: its part of the schema (`{ <key>: { …settings } }`), how it is built (from
// an injected tf.layers, so the schedule stays free of tensors), its default name and its description.
// One file per kind; index.ts lists them.
import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';

/**
 * The part of tfjs' `layers` namespace the kinds call, declared here rather than imported (as TfTrain is:
 * tfjs' declarations fail a strict consumer's compile). `tf.layers` fits it with L = tf.layers.Layer;
 * tfjs checks the configs.
 */
export interface TfLayers<L> {
  dense(config: object): L;
  dropout(config: object): L;
  batchNormalization(config: object): L;
  activation(config: object): L;
  flatten(config: object): L;
  globalAveragePooling2d(config: object): L;
  globalMaxPooling2d(config: object): L;
}

export interface HeadContext {
  classes: number;
  name: string;
  /** tfjs's default Dense kernel initialiser (Glorot normal), seeded from the run's stream: call it only
   * for a layer that uses it, as each call draws a seed. */
  kernelInitializer(): unknown;
}

export interface HeadKind<K extends string, S extends TSchema> {
  key: K;
  schema: TObject<{ [P in K]: S }>;
  /** Prefix of default names: head/<prefix>_N. */
  prefix: string;
  /** Turns a feature map into a vector (so no pooling is added before it). */
  pools?: boolean;
  build<L>(layers: TfLayers<L>, settings: Static<S>, ctx: HeadContext): L;
  describe(settings: Static<S>): string;
}

export const defineHead = <K extends string, S extends TSchema>(k: HeadKind<K, S>) => k;

/** The `{ <key>: settings }` object form of a head layer, with an optional name among its settings. */
export function headSchema<K extends string, P extends TProperties>(
  key: K,
  settings: P,
  description?: string,
  prefix: string = key,
) {
  const inner = Type.Object(
    {
      ...settings,
      name: Type.Optional(Type.String({ description: `Layer name inside head/ (default ${prefix}_N).` })),
    },
    { additionalProperties: false },
  );
  return Type.Object({ [key]: inner } as { [Q in K]: typeof inner }, {
    additionalProperties: false,
    title: key,
    ...(description ? { description } : {}),
  });
}
