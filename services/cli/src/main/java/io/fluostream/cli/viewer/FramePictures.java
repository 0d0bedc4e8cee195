package io.fluostream.cli.viewer;

import io.fluostream.imaging.Image;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import javax.imageio.ImageIO;

/**
 * Frames as pictures for the live viewer: channels as an additive false-colour composite (each
 * channel stretched between its 1st and 99.5th percentile, so dim labels stay visible), and a flow
 * field as colour (hue = direction, brightness = speed) with arrows.
 */
public final class FramePictures {

    /** Channel colours: green, magenta, cyan, yellow, then repeated; one channel is grey. */
    private static final float[][] PALETTE = {{0, 1, 0}, {1, 0, 1}, {0, 1, 1}, {1, 1, 0}, {1, 0.5f, 0}, {0.5f, 0.5f, 1}};

    private FramePictures() {
    }

    /** A false-colour composite of every channel. */
    public static BufferedImage composite(Image im) {
        int h = im.height();
        int w = im.width();
        int plane = h * w;
        float[] rgb = new float[3 * plane];
        float[] data = im.data();
        for (int c = 0; c < im.channels(); c++) {
            float[] colour = im.channels() == 1 ? new float[] {1, 1, 1} : PALETTE[c % PALETTE.length];
            float[] range = percentiles(data, c * plane, plane, 0.01, 0.995);
            float span = Math.max(range[1] - range[0], 1e-6f);
            for (int i = 0; i < plane; i++) {
                float v = (data[c * plane + i] - range[0]) / span;
                v = v < 0 ? 0 : Math.min(v, 1);
                rgb[i] += v * colour[0];
                rgb[plane + i] += v * colour[1];
                rgb[2 * plane + i] += v * colour[2];
            }
        }
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                out.setRGB(x, y, (byte8(rgb[i]) << 16) | (byte8(rgb[plane + i]) << 8) | byte8(rgb[2 * plane + i]));
            }
        }
        return out;
    }

    /**
     * A flow field (channel 0: u, channel 1: v, px/frame) as colour, scaled to {@code scale} times its
     * size, with an arrow every {@code step} px of the field (arrows lengthened so the 99th percentile
     * speed spans one step).
     */
    public static BufferedImage flow(Image field, int scale, int step) {
        int h = field.height();
        int w = field.width();
        int plane = h * w;
        float[] u = Arrays.copyOfRange(field.data(), 0, plane);
        float[] v = field.channels() > 1 ? Arrays.copyOfRange(field.data(), plane, 2 * plane) : new float[plane];
        float[] speed = new float[plane];
        for (int i = 0; i < plane; i++) {
            speed[i] = (float) Math.hypot(u[i], v[i]);
        }
        float top = Math.max(percentiles(speed, 0, plane, 0.5, 0.99)[1], 1e-3f);
        BufferedImage out = new BufferedImage(w * scale, h * scale, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h * scale; y++) {
            for (int x = 0; x < w * scale; x++) {
                int i = (y / scale) * w + x / scale;
                float hue = (float) ((Math.atan2(v[i], u[i]) / (2 * Math.PI) + 1) % 1);
                float value = Math.min(speed[i] / top, 1);
                out.setRGB(x, y, Color.HSBtoRGB(hue, 0.9f, 0.15f + 0.85f * value));
            }
        }
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.setStroke(new BasicStroke(Math.max(1f, scale / 2f)));
        double gain = step / top;
        for (int y = step / 2; y < h; y += step) {
            for (int x = step / 2; x < w; x += step) {
                int i = y * w + x;
                double x0 = (x + 0.5) * scale;
                double y0 = (y + 0.5) * scale;
                double dx = u[i] * gain * scale;
                double dy = v[i] * gain * scale;
                if (Math.hypot(dx, dy) < 1) {
                    g.fillOval((int) x0 - 1, (int) y0 - 1, 2, 2);
                    continue;
                }
                arrow(g, x0, y0, x0 + dx, y0 + dy);
            }
        }
        g.dispose();
        return out;
    }

    private static void arrow(Graphics2D g, double x0, double y0, double x1, double y1) {
        g.drawLine((int) x0, (int) y0, (int) x1, (int) y1);
        double a = Math.atan2(y1 - y0, x1 - x0);
        double len = Math.min(6, Math.hypot(x1 - x0, y1 - y0) / 2);
        for (double side : new double[] {-0.5, 0.5}) {
            g.drawLine((int) x1, (int) y1, (int) (x1 - len * Math.cos(a + side)), (int) (y1 - len * Math.sin(a + side)));
        }
    }

    /** Nearest-neighbour upscaling, so small frames are not blurred by the browser. */
    public static BufferedImage scaled(BufferedImage in, int scale) {
        if (scale <= 1) {
            return in;
        }
        BufferedImage out = new BufferedImage(in.getWidth() * scale, in.getHeight() * scale, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < out.getHeight(); y++) {
            for (int x = 0; x < out.getWidth(); x++) {
                out.setRGB(x, y, in.getRGB(x / scale, y / scale));
            }
        }
        return out;
    }

    public static byte[] png(BufferedImage image) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static float[] percentiles(float[] data, int from, int n, double lo, double hi) {
        // A strided sample is enough for a display stretch and keeps large frames cheap.
        int stride = Math.max(1, n / 65536);
        float[] s = new float[(n + stride - 1) / stride];
        int k = 0;
        for (int i = 0; i < n; i += stride) {
            s[k++] = data[from + i];
        }
        Arrays.sort(s, 0, k);
        return new float[] {s[(int) Math.floor(lo * (k - 1))], s[(int) Math.floor(hi * (k - 1))]};
    }

    private static int byte8(float v) {
        return (int) (Math.min(Math.max(v, 0), 1) * 255 + 0.5f);
    }
}
