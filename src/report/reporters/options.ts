// What every file reporter is made with (its own file, so the table and the reporters do not import each other).

export interface FileReporterOptions {
  runDir: string;
  /** A resumed run appends to what the first process wrote. */
  append: boolean;
}
