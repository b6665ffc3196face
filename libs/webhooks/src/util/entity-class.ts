/** An entity class, typed the way TypeORM types entity targets (`EntityTarget`) and decorators receive classes. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own type for entity targets
export type EntityClass = Function;
