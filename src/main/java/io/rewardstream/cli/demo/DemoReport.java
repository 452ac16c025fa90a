package io.rewardstream.cli.demo;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes the demo's plots (PNG, XChart) and an HTML page embedding them with the summary table. Stateless.
 */
public final class DemoReport {
    public static final String REWARDS_PNG = "reward-by-correctness.png";
    public static final String KL_PNG = "kl-and-beta.png";
    public static final String LATENCY_PNG = "latency.png";
    public static final String HACK_PNG = "hack-and-repair.png";
    public static final String INDEX = "index.html";
    public static final String MONITORS_CSV = "monitors.csv";

    private DemoReport() {
    }

    /**
     * Writes the three PNGs, {@code summary.json} and {@code index.html} into {@code dir} (created).
     *
     * @return the HTML page
     * @throws IOException when a file cannot be written
     */
    public static Path write(Path dir, DemoSummary s, String json) throws IOException {
        return write(dir, s, json, List.of());
    }

    /**
     * Like {@link #write(Path, DemoSummary, String)}, plus the live over-optimization monitors sampled during the run
     * ({@link MonitorSampler}): one plot per gauge ({@code monitor-*.png}) and {@code monitors.csv}.
     */
    public static Path write(Path dir, DemoSummary s, String json, List<MonitorSampler.Point> monitors)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(dir);
        save(rewardChart(s), dir.resolve(REWARDS_PNG));
        save(klChart(s), dir.resolve(KL_PNG));
        save(latencyChart(s), dir.resolve(LATENCY_PNG));
        save(timelineChart(s), dir.resolve(HACK_PNG));
        Files.writeString(dir.resolve("summary.json"), json);
        StringBuilder html = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\">"
                + "<title>rewardstream demo</title><style>body{font-family:sans-serif;max-width:1400px}"
                + "td,th{padding:2px 8px;text-align:left}</style></head><body>\n<h1>rewardstream demo</h1>\n<table>\n");
        for (Map.Entry<String, Object> e : s.toJson().entrySet()) {
            if (e.getValue() instanceof List || e.getValue() instanceof Map) {
                continue;
            }
            html.append("<tr><th>").append(esc(e.getKey())).append("</th><td>").append(esc(String.valueOf(e.getValue())))
                    .append("</td></tr>\n");
        }
        html.append("</table>\n<pre>").append(esc(s.text())).append("</pre>\n");
        for (String png : List.of(HACK_PNG, REWARDS_PNG, KL_PNG, LATENCY_PNG)) {
            html.append("<img src=\"").append(png).append("\" alt=\"").append(png).append("\">\n");
        }
        if (!monitors.isEmpty()) {
            MonitorSampler.writeCsv(monitors, dir.resolve(MONITORS_CSV));
            html.append("<h2>Live over-optimization monitors (the scorer's gauges, per policy / model version)</h2>\n"
                    + "<p>Sampled from the scorer's meter registry once a second, as Prometheus would scrape them "
                    + "(<a href=\"").append(MONITORS_CSV).append("\">").append(MONITORS_CSV).append("</a>).</p>\n");
            for (String metric : MonitorSampler.METRICS) {
                XYChart c = monitorChart(metric, monitors);
                if (c != null) {
                    String png = metric.replace("rewardstream.", "").replace('.', '-') + ".png";
                    save(c, dir.resolve(png));
                    html.append("<img src=\"").append(png).append("\" alt=\"").append(png).append("\">\n");
                }
            }
        }
        html.append("</body></html>\n");
        Path index = dir.resolve(INDEX);
        Files.writeString(index, html);
        return index;
    }

    private static void save(Object chart, Path file) throws IOException {
        String base = file.toString().substring(0, file.toString().length() - ".png".length());
        if (chart instanceof XYChart c) {
            BitmapEncoder.saveBitmap(c, base, BitmapEncoder.BitmapFormat.PNG);
        } else {
            BitmapEncoder.saveBitmap((CategoryChart) chart, base, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    /** Histograms (as lines) of the reward of correct and wrong answers on the shifted task, before and after. */
    static XYChart rewardChart(DemoSummary s) {
        XYChart c = new XYChartBuilder().width(800).height(450)
                .title("Drifted/shifted policy: reward of correct vs wrong answers, before/after the release")
                .xAxisTitle("reward").yAxisTitle("fraction of answers").build();
        c.getStyler().setXAxisDecimalPattern("0.0");
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double[] a : List.of(s.before().rewardsCorrect(), s.before().rewardsWrong(), s.after().rewardsCorrect(),
                s.after().rewardsWrong(), s.original().rewardsCorrect(), s.original().rewardsWrong())) {
            for (double v : a) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (!(hi > lo)) {
            lo = -1;
            hi = 1;
        }
        add(c, "correct, " + label(s.before()), s.before().rewardsCorrect(), lo, hi);
        add(c, "wrong, " + label(s.before()), s.before().rewardsWrong(), lo, hi);
        add(c, "correct, " + label(s.after()), s.after().rewardsCorrect(), lo, hi);
        add(c, "wrong, " + label(s.after()), s.after().rewardsWrong(), lo, hi);
        if (c.getSeriesMap().isEmpty()) {
            c.addSeries("no data", new double[]{0}, new double[]{0});
        }
        return c;
    }

    private static String label(DemoSummary.Group g) {
        return g.modelVersion() == null ? "-" : g.modelVersion() + String.format(Locale.ROOT, " (AUC %.2f)", g.auc());
    }

    private static void add(XYChart c, String name, double[] values, double lo, double hi) {
        if (values.length == 0) {
            return;
        }
        int bins = 30;
        double[] x = new double[bins];
        double[] y = new double[bins];
        double w = (hi - lo) / bins;
        for (int i = 0; i < bins; i++) {
            x[i] = lo + (i + 0.5) * w;
        }
        for (double v : values) {
            int i = (int) Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / w)));
            y[i] += 1.0 / values.length;
        }
        XYSeries series = c.addSeries(name, x, y);
        series.setMarker(SeriesMarkers.NONE);
    }

    /**
     * The hack and its repair over time: mean reward of correct answers, of the exploit (wrong answers in filler) and
     * of wrong concise answers per slice of the rewards (left axis); the share of padded answers and of rewards from
     * the newest model version (right axis: the release is where it jumps).
     */
    static XYChart timelineChart(DemoSummary s) {
        XYChart c = new XYChartBuilder().width(800).height(450)
                .title("Reward hacking and its repair: mean reward by kind of answer over time")
                .xAxisTitle("rewards read (probe rollouts of the original policy excluded)").build();
        List<DemoSummary.TimePoint> pts = s.timeline();
        if (pts.isEmpty()) {
            c.addSeries("no data", new double[]{0}, new double[]{0});
            return c;
        }
        double[] x = pts.stream().mapToDouble(DemoSummary.TimePoint::rewards).toArray();
        series(c, "correct answers", x, pts.stream().mapToDouble(DemoSummary.TimePoint::correct).toArray(), 0);
        series(c, "exploit: wrong answer in filler", x,
                pts.stream().mapToDouble(DemoSummary.TimePoint::exploit).toArray(), 0);
        series(c, "wrong concise answers", x,
                pts.stream().mapToDouble(DemoSummary.TimePoint::wrongConcise).toArray(), 0);
        series(c, "share of padded answers", x, pts.stream().mapToDouble(DemoSummary.TimePoint::padded).toArray(), 1);
        series(c, "share scored by the newest model", x,
                pts.stream().mapToDouble(DemoSummary.TimePoint::newest).toArray(), 1);
        c.setYAxisGroupTitle(0, "mean reward");
        c.setYAxisGroupTitle(1, "share");
        c.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideSW);
        return c;
    }

    /** A series without the NaN points (slices with no answer of that kind). */
    private static void series(XYChart c, String name, double[] x, double[] y, int axis) {
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (Double.isFinite(y[i])) {
                xs.add(x[i]);
                ys.add(y[i]);
            }
        }
        if (xs.isEmpty()) {
            return;
        }
        XYSeries sr = c.addSeries(name, xs, ys);
        sr.setYAxisGroup(axis);
    }

    /** Mean sequence KL (left axis) and beta (right axis) over time. */
    static XYChart klChart(DemoSummary s) {
        XYChart c = new XYChartBuilder().width(800).height(450).title("KL and beta over time")
                .xAxisTitle("rewards read (the gap while the retraining round ran is not drawn)").build();
        List<DemoSummary.KlPoint> pts = s.klOverTime();
        if (pts.isEmpty()) {
            c.addSeries("no data", new double[]{0}, new double[]{0});
            return c;
        }
        double[] t = pts.stream().mapToDouble(DemoSummary.KlPoint::rewards).toArray();
        c.addSeries("mean sequence KL", t, pts.stream().mapToDouble(DemoSummary.KlPoint::kl).toArray());
        XYSeries beta = c.addSeries("beta (KL coefficient)", t,
                pts.stream().mapToDouble(DemoSummary.KlPoint::beta).toArray());
        beta.setYAxisGroup(1);
        c.setYAxisGroupTitle(0, "KL");
        c.setYAxisGroupTitle(1, "beta");
        c.getStyler().setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right);
        return c;
    }

    /** One monitor gauge over time, a line per series (policy / model version); null when it has no point. */
    static XYChart monitorChart(String metric, List<MonitorSampler.Point> points) {
        Map<String, List<MonitorSampler.Point>> bySeries = new java.util.TreeMap<>();
        for (MonitorSampler.Point p : points) {
            if (p.metric().equals(metric)) {
                bySeries.computeIfAbsent(p.series(), k -> new ArrayList<>()).add(p);
            }
        }
        if (bySeries.isEmpty()) {
            return null;
        }
        XYChart c = new XYChartBuilder().width(900).height(340).title(metric).xAxisTitle("seconds since the scorer started")
                .build();
        c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
        for (Map.Entry<String, List<MonitorSampler.Point>> e : bySeries.entrySet()) {
            XYSeries sr = c.addSeries(e.getKey(), e.getValue().stream().mapToDouble(MonitorSampler.Point::seconds)
                    .toArray(), e.getValue().stream().mapToDouble(MonitorSampler.Point::value).toArray());
            sr.setMarker(SeriesMarkers.NONE);
        }
        return c;
    }

    /** Histogram of end-to-end latencies. */
    static CategoryChart latencyChart(DemoSummary s) {
        CategoryChart c = new CategoryChartBuilder().width(800).height(450)
                .title(String.format(Locale.ROOT, "End-to-end latency (p50 %.0f ms, p99 %.0f ms)", s.p50LatencyMs(),
                        s.p99LatencyMs()))
                .xAxisTitle("ms (bin start)").yAxisTitle("rewards").build();
        c.getStyler().setLegendVisible(false);
        c.getStyler().setXAxisLabelRotation(45);
        double[] lat = s.latenciesMs();
        if (lat.length == 0) {
            c.addSeries("latency", List.of("0"), List.of(0));
            return c;
        }
        double hi = DemoStats.percentile(lat, 100);
        int bins = 25;
        double w = Math.max(1, Math.ceil(hi / bins));
        List<String> xs = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        for (int i = 0; i < bins; i++) {
            xs.add(String.format(Locale.ROOT, "%.0f", i * w));
            ys.add(0);
        }
        for (double v : lat) {
            int i = (int) Math.min(bins - 1, Math.max(0, v / w));
            ys.set(i, ys.get(i) + 1);
        }
        c.addSeries("latency", xs, ys);
        return c;
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
