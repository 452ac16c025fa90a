package io.rewardstream.training;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Writes loss/accuracy curves as PNG and a small HTML page embedding them. Stateless. */
public final class TrainingReport {
    public static final String DIR = "report";

    private TrainingReport() {
    }

    /** Writes {@code report/loss.png}, {@code report/accuracy.png} and {@code report/index.html} under {@code modelDir}. */
    public static Path write(Path modelDir, TrainingResult r, Map<String, ?> summary) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Path dir = Files.createDirectories(modelDir.resolve(DIR));
        XYChart loss = new XYChartBuilder().width(640).height(400).title("Loss").xAxisTitle("step")
                .yAxisTitle("loss").build();
        List<Double> sl = r.stepLoss();
        double[] xs = new double[sl.size()];
        double[] ys = new double[sl.size()];
        double ema = sl.isEmpty() ? 0 : sl.get(0);
        for (int i = 0; i < sl.size(); i++) {
            ema = 0.9 * ema + 0.1 * sl.get(i);   // smoothed: single batches are noisy
            xs[i] = i + 1;
            ys[i] = ema;
        }
        if (xs.length > 0) {
            loss.addSeries("train (EMA 0.9)", xs, ys).setMarker(new org.knowm.xchart.style.markers.None());
        }
        XYChart acc = new XYChartBuilder().width(640).height(400).title("Held-out pairwise accuracy")
                .xAxisTitle("step").yAxisTitle("accuracy").build();
        if (!r.curve().isEmpty()) {
            double[] cx = r.curve().stream().mapToDouble(TrainingResult.EvalPoint::step).toArray();
            loss.addSeries("held-out", cx, r.curve().stream().mapToDouble(TrainingResult.EvalPoint::evalLoss).toArray());
            acc.addSeries("held-out", cx, r.curve().stream().mapToDouble(TrainingResult.EvalPoint::evalAccuracy).toArray());
        } else {
            acc.addSeries("none", new double[]{0}, new double[]{0});
        }
        BitmapEncoder.saveBitmap(loss, dir.resolve("loss.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        BitmapEncoder.saveBitmap(acc, dir.resolve("accuracy.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        StringBuilder html = new StringBuilder("<!doctype html><html><head><meta charset=\"utf-8\">"
                + "<title>rewardstream training report</title></head><body>\n<h1>Training report</h1>\n<table>\n");
        for (var e : summary.entrySet()) {
            html.append("<tr><th align=\"left\">").append(escape(e.getKey())).append("</th><td>")
                    .append(escape(String.valueOf(e.getValue()))).append("</td></tr>\n");
        }
        html.append("</table>\n<img src=\"loss.png\" alt=\"loss\">\n<img src=\"accuracy.png\" alt=\"accuracy\">\n</body></html>\n");
        Files.writeString(dir.resolve("index.html"), html);
        return dir.resolve("index.html");
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
