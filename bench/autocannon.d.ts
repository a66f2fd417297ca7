// Minimal typings for the parts of autocannon 8 the load worker uses (the package ships none).
declare module 'autocannon' {
  namespace autocannon {
    interface Options {
      url: string;
      method?: string;
      connections?: number;
      pipelining?: number;
      duration?: number;
      amount?: number;
      sampleInt?: number;
      headers?: Record<string, string>;
      body?: string;
      requests?: { setupRequest?: (req: Record<string, unknown>) => Record<string, unknown> }[];
    }
    interface Histogram {
      p50: number;
      p90: number;
      p99: number;
      max: number;
      average: number;
    }
    interface Result {
      '2xx': number;
      non2xx: number;
      errors: number;
      timeouts: number;
      duration: number;
      latency: Histogram;
      requests: Histogram & { total: number };
    }
  }
  function autocannon(opts: autocannon.Options): Promise<autocannon.Result>;
  export default autocannon;
}
