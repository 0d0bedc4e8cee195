package io.fluostream.imaging;

import java.util.Arrays;

/**
 * A multi-channel 2-D image: {@code channels × height × width} float samples, channel-major
 * ({@code c, y, x}), in one array so kernels can run over it without boxing or copying.
 *
 * <p>Data and algorithms are kept apart (as in imglib2): an {@code Image} only knows its shape and
 * its samples; kernels take images in and write images out.
 */
public final class Image {

    private final int channels;
    private final int height;
    private final int width;
    private final float[] data;

    /** Wraps {@code data} (not copied); its length must be {@code channels*height*width}. */
    public Image(int channels, int height, int width, float[] data) {
        if (channels <= 0 || height <= 0 || width <= 0) {
            throw new IllegalArgumentException(
                    "image shape must be positive, got " + channels + "x" + height + "x" + width);
        }
        long n = (long) channels * height * width;
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("image too large: " + channels + "x" + height + "x" + width);
        }
        if (data.length != n) {
            throw new IllegalArgumentException(
                    "expected " + n + " samples for " + channels + "x" + height + "x" + width + ", got " + data.length);
        }
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.data = data;
    }

    /** A zero-filled image. */
    public Image(int channels, int height, int width) {
        this(channels, height, width, new float[checkedSize(channels, height, width)]);
    }

    private static int checkedSize(int channels, int height, int width) {
        long n = (long) Math.max(channels, 0) * Math.max(height, 0) * Math.max(width, 0);
        if (channels <= 0 || height <= 0 || width <= 0 || n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("bad image shape " + channels + "x" + height + "x" + width);
        }
        return (int) n;
    }

    public int channels() {
        return channels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** Pixels per channel plane. */
    public int planeSize() {
        return height * width;
    }

    /** The backing array, channel-major; writes go straight into the image. */
    public float[] data() {
        return data;
    }

    /** Offset of plane {@code c} in {@link #data()}. */
    public int planeOffset(int c) {
        return c * height * width;
    }

    public float get(int c, int y, int x) {
        return data[(c * height + y) * width + x];
    }

    public void set(int c, int y, int x, float value) {
        data[(c * height + y) * width + x] = value;
    }

    /** Plane {@code c} as a new single-channel image (a copy). */
    public Image channel(int c) {
        if (c < 0 || c >= channels) {
            throw new IndexOutOfBoundsException("channel " + c + " of " + channels);
        }
        int n = planeSize();
        return new Image(1, height, width, Arrays.copyOfRange(data, c * n, (c + 1) * n));
    }

    public Image copy() {
        return new Image(channels, height, width, data.clone());
    }

    public boolean sameShape(Image other) {
        return channels == other.channels && height == other.height && width == other.width;
    }

    @Override
    public String toString() {
        return "Image[" + channels + "x" + height + "x" + width + "]";
    }
}
