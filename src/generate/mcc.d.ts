/** Types for the `mcc` npm package (CommonJS, untyped): ISO 18245 merchant category codes. */
declare module 'mcc' {
  export interface MccEntry {
    /** Four digits, leading zeros kept ('0742'). */
    mcc: string;
    edited_description: string;
    combined_description: string;
    usda_description: string;
    irs_description: string;
    irs_reportable: string;
    id: number;
  }
  const mcc: {
    get(code: string | number): MccEntry | undefined;
    all: MccEntry[];
  };
  export default mcc;
}
