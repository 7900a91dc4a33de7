/**
 * Word boundaries of a pyradiomics feature name, such as
 * `Whole_peri_glszm_SmallAreaLowGrayLevelEmphasis`: after each underscore, and before each
 * upper-case letter that follows a lower-case letter, so `3D` and `10Percentile` stay whole. The table and the chart break long
 * names only there, so a line never ends inside a word.
 */

/** Splits a feature name into its words; joined again they give the name unchanged. */
export function featureNameWords(name: string): string[] {
  return name.split(/(?<=_)|(?<=[a-z])(?=[A-Z])/);
}

/**
 * Groups the words of a feature name into lines of at most `maxCharacters` characters each. A
 * single word longer than that gets a line of its own.
 */
export function featureNameLines(name: string, maxCharacters: number): string[] {
  const lines: string[] = [];
  let line = '';
  const words = featureNameWords(name);
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (line !== '' && line.length + word.length > maxCharacters) {
      lines.push(line);
      line = '';
    }
    line += word;
  }
  if (line !== '') lines.push(line);
  return lines;
}
