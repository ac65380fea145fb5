/**
 * One chart: an ECharts instance bound to a div, given a full option object. The library loads on
 * first use; the div reserves the chart's height meanwhile so nothing jumps. `data-chart-ready`
 * tells tests (and anyone curious) that the chart has drawn.
 */
import type {
  BarSeriesOption,
  GraphSeriesOption,
  LineSeriesOption,
  ScatterSeriesOption,
} from 'echarts/charts';
import type {
  AriaComponentOption,
  DataZoomComponentOption,
  GridComponentOption,
  LegendComponentOption,
  TooltipComponentOption,
} from 'echarts/components';
import type { ComposeOption, ECharts } from 'echarts/core';
import { useEffect, useRef, useState } from 'react';

export type ChartOption = ComposeOption<
  | BarSeriesOption
  | LineSeriesOption
  | ScatterSeriesOption
  | GraphSeriesOption
  | AriaComponentOption
  | DataZoomComponentOption
  | GridComponentOption
  | LegendComponentOption
  | TooltipComponentOption
>;

/** What a click on a data item tells the page. */
export interface ChartClick {
  readonly name: string;
  readonly seriesName?: string;
  readonly data: unknown;
  readonly dataType?: string;
}

let library: Promise<typeof import('./echarts.js')> | undefined;
const load = () => {
  library ??= import('./echarts.js');
  return library;
};

/** Category colours, the same on every chart and badge. */
export const CATEGORY_COLORS: Record<string, string> = {
  behavior: '#3b5bdb',
  preference: '#e8590c',
  condition: '#2b8a3e',
};
export const PALETTE = [
  '#3b5bdb',
  '#e8590c',
  '#2b8a3e',
  '#ae3ec9',
  '#1098ad',
  '#f59f00',
  '#c2255c',
  '#5c940d',
  '#495057',
  '#0b7285',
];

export function categoryColor(category: string): string {
  return CATEGORY_COLORS[category] ?? '#868e96';
}

export function Chart(props: {
  option: ChartOption;
  height?: number;
  label: string;
  onClick?: (e: ChartClick) => void;
  testId?: string;
}) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<ECharts | undefined>(undefined);
  const onClick = useRef(props.onClick);
  onClick.current = props.onClick;
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let disposed = false;
    let observer: ResizeObserver | undefined;
    load().then(({ echarts }) => {
      if (disposed || !el.current) return;
      const c = echarts.init(el.current, undefined, { renderer: 'canvas' });
      chart.current = c;
      c.on('click', (e) => {
        onClick.current?.({
          name: String(e.name ?? ''),
          ...(e.seriesName !== undefined ? { seriesName: e.seriesName } : {}),
          data: e.data,
          ...(e.dataType !== undefined ? { dataType: e.dataType } : {}),
        });
      });
      observer = new ResizeObserver(() => c.resize());
      observer.observe(el.current);
      setReady(true);
    });
    return () => {
      disposed = true;
      observer?.disconnect();
      chart.current?.dispose();
      chart.current = undefined;
    };
  }, []);

  useEffect(() => {
    if (!ready || !chart.current) return;
    chart.current.setOption(
      {
        aria: { enabled: true, label: { description: props.label } },
        animationDuration: 300,
        ...props.option,
      },
      { notMerge: true },
    );
    el.current?.setAttribute('data-chart-ready', 'true');
  }, [ready, props.option, props.label]);

  return (
    <div
      ref={el}
      className={`chart ${props.onClick ? 'chart-clickable' : ''}`}
      style={{ height: props.height ?? 260 }}
      role="img"
      aria-label={props.label}
      data-testid={props.testId}
    />
  );
}
