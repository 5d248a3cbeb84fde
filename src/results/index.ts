/** One result description (the field table) and the views it drives. */
export * from './fields';
export * from './views';
