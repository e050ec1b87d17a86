import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(prefix = 'shelf-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeJsonl(file: string, rows: unknown[]): string {
  fs.writeFileSync(file, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return file;
}

/** A small mixed-language catalog with enough structure for filter and ranking tests. */
export const SAMPLE_PRODUCTS = [
  {
    id: 'p1',
    title: 'Nike Air Zoom Pegasus Running Shoes',
    category: 'Sports/Footwear/Running Shoes',
    brand: 'Nike',
    price: 120,
    in_stock: true,
    description: 'Responsive road running shoe for daily training.',
  },
  {
    id: 'p2',
    title: 'Adidas Ultraboost Running Sneakers',
    category: 'Sports/Footwear/Running Shoes',
    brand: 'Adidas',
    price: 180,
    in_stock: true,
    description: 'Cushioned sneakers for long runs.',
  },
  {
    id: 'p3',
    title: 'Lodge Cast Iron Skillet 10 inch',
    category: 'Home & Kitchen/Cookware/Skillets',
    brand: 'Lodge',
    price: 25,
    in_stock: true,
    description: 'Pre-seasoned cast iron frying pan.',
  },
  {
    id: 'p4',
    title: 'Nike Dri-FIT Running T-Shirt',
    category: 'Clothing/Tops/T-Shirts',
    brand: 'Nike',
    price: 30,
    stock: 0,
    description: 'Lightweight shirt for running.',
  },
  {
    id: 'p5',
    title: '李宁 超轻 男子跑步鞋',
    category: '运动户外/鞋靴/跑步鞋',
    brand: '李宁',
    price: 399,
    currency: 'CNY',
    in_stock: true,
    description: '轻量缓震跑步鞋，适合日常训练。',
  },
  {
    id: 'p6',
    title: '小米 米家 电动牙刷 T300',
    category: '美妆个护/口腔护理/电动牙刷',
    brand: '小米',
    price: 99,
    currency: 'CNY',
    in_stock: true,
    description: '声波电动牙刷，长续航。',
  },
  {
    id: 'p7',
    title: 'Apple AirPods Pro Wireless Earbuds',
    category: 'Electronics/Audio/Earbuds',
    brand: 'Apple',
    price: 249,
    in_stock: true,
    description: 'Active noise cancellation earbuds.',
  },
  {
    id: 'p8',
    title: 'Sony WH-1000XM5 Wireless Headphones',
    category: 'Electronics/Audio/Headphones',
    brand: 'Sony',
    price: 399,
    in_stock: true,
    description: 'Noise cancelling over-ear headphones.',
  },
];
