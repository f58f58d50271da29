// Charts of the Home dashboard, drawn with recharts (3.11). Why recharts: it
// is built for React (declarative components, React 16.8 to 19 as peers, so
// our React 19 works), it builds under the Node that Debian ships (engines
// >=18), it draws plain SVG (text that axe and screen readers can read, no
// canvas), its accessibility layer lets a keyboard step through the points,
// and it is well kept and widely used. Its cost is size (d3 scales and redux
// inside: about 120 kB more gzipped in the bundle), acceptable for an admin
// center that already ships Fluent UI; a hand-drawn SVG would have to redo
// scales, axes and tooltips for less. The numbers are Get-MailFlowStatistics'
// own: the chart only draws them. Each chart has a text alternative: its
// title and a summary in words, and a visually hidden table of every point.
import { makeStyles, tokens } from '@fluentui/react-components';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

export interface ChartSeries {
  key: string;
  name: string;
  color: string;
}

export type ChartPoint = Record<string, number>;

const useStyles = makeStyles({
  figure: { margin: 0, padding: '12px 16px', border: `1px solid ${tokens.colorNeutralStroke2}`, borderRadius: tokens.borderRadiusMedium, backgroundColor: tokens.colorNeutralBackground1, minWidth: 0 },
  title: { fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold, margin: '0 0 4px 0' },
  summary: { color: tokens.colorNeutralForeground2, fontSize: tokens.fontSizeBase200, margin: '0 0 8px 0' },
  hidden: { position: 'absolute', width: '1px', height: '1px', padding: 0, margin: '-1px', overflow: 'hidden', clip: 'rect(0 0 0 0)', whiteSpace: 'nowrap', border: 0 },
});

const time = (t: number) => new Date(t).toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit', hour12: false });
const timeWithSeconds = (t: number) => new Date(t).toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const dateTime = (t: number) => new Date(t).toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** "Received: now 2, highest 5 per minute" for each series: the chart in words. */
function summarize(points: ChartPoint[], series: ChartSeries[], unit: string): string {
  if (points.length === 0) return 'No samples yet.';
  const last = points[points.length - 1];
  return series.map((s) => `${s.name}: now ${last[s.key] ?? 0}, highest ${Math.max(...points.map((p) => p[s.key] ?? 0))}${unit}`).join('; ') + '.';
}

export function MailFlowChart(props: { id: string; title: string; points: ChartPoint[]; series: ChartSeries[]; unit: string; valueLabel: string }) {
  const s = useStyles();
  const summary = summarize(props.points, props.series, props.unit);
  // Minutes label the ticks of hours; a span of a few minutes (a server just started) needs seconds.
  const span = props.points.length > 1 ? props.points[props.points.length - 1].t - props.points[0].t : 0;
  return (
    <figure className={s.figure} aria-labelledby={`${props.id}-title`} data-testid={props.id} data-points={props.points.length}>
      <h2 id={`${props.id}-title`} className={s.title}>
        {props.title}
      </h2>
      <p className={s.summary} id={`${props.id}-summary`}>
        {summary}
      </p>
      <ResponsiveContainer width="100%" height={200}>
        <LineChart data={props.points} title={props.title} desc={summary} aria-labelledby={`${props.id}-title`} aria-describedby={`${props.id}-summary`} margin={{ top: 4, right: 12, bottom: 0, left: -8 }}>
          <CartesianGrid stroke="#e0e0e0" strokeDasharray="3 3" />
          <XAxis dataKey="t" type="number" scale="time" domain={['dataMin', 'dataMax']} tickFormatter={span < 10 * 60_000 ? timeWithSeconds : time} stroke="#616161" minTickGap={24} />
          <YAxis allowDecimals={false} stroke="#616161" width={44} />
          <Tooltip labelFormatter={(t) => dateTime(Number(t))} />
          <Legend />
          {props.series.map((x) => (
            <Line key={x.key} type="monotone" dataKey={x.key} name={x.name} stroke={x.color} strokeWidth={2} dot={false} isAnimationActive={false} />
          ))}
        </LineChart>
      </ResponsiveContainer>
      <table className={s.hidden}>
        <caption>
          {props.title} ({props.valueLabel})
        </caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            {props.series.map((x) => (
              <th scope="col" key={x.key}>
                {x.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.points.map((p) => (
            <tr key={p.t}>
              <th scope="row">{dateTime(p.t)}</th>
              {props.series.map((x) => (
                <td key={x.key}>{p[x.key] ?? 0}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
