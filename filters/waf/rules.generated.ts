export const BUNDLED_RULES: string = "";
