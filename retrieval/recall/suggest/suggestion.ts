/** One completion as the API returns it. */
export interface Suggestion {
  /** What to put in the search box (a category or brand as the catalog writes it). */
  text: string;
  /**
   * Where it comes from: `query` a popular search that found products, `category` a node of the
   * category tree, `brand` a brand, `title` a word or phrase of product titles.
   */
  source: 'query' | 'title' | 'category' | 'brand';
  /** Popular queries: searches that found something (distinct shoppers a day); else the products that have it. */
  count: number;
  /** Category suggestions: the full path, for a category page (`/v1/search?category=…`). */
  category?: string;
}
