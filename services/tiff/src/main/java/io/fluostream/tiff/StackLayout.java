package io.fluostream.tiff;

/**
 * The shape of a stack (time points × channels × z planes of height × width samples) and which
 * TIFF page (IFD) holds each plane.
 */
public final class StackLayout {

    private final int sizeT;
    private final int sizeC;
    private final int sizeZ;
    private final int height;
    private final int width;
    private final SampleType type;
    /** Page of plane (t, z, c) at index (t * sizeZ + z) * sizeC + c. */
    private final int[] pages;

    StackLayout(int sizeT, int sizeC, int sizeZ, int height, int width, SampleType type, int[] pages) {
        this.sizeT = sizeT;
        this.sizeC = sizeC;
        this.sizeZ = sizeZ;
        this.height = height;
        this.width = width;
        this.type = type;
        this.pages = pages;
    }

    /**
     * Pages in the order an OME {@code DimensionOrder} gives (e.g. "XYCZT": c fastest, then z, then t),
     * starting at page {@code firstPage}.
     */
    static StackLayout ordered(String dimensionOrder, int sizeT, int sizeC, int sizeZ, int height, int width,
                               SampleType type, int firstPage) {
        int[] pages = new int[sizeT * sizeC * sizeZ];
        int[] index = new int[3];
        for (int i = 0; i < pages.length; i++) {
            PlaneOrder.position(dimensionOrder, i, sizeT, sizeC, sizeZ, index);
            pages[(index[0] * sizeZ + index[2]) * sizeC + index[1]] = firstPage + i;
        }
        return new StackLayout(sizeT, sizeC, sizeZ, height, width, type, pages);
    }

    public int sizeT() {
        return sizeT;
    }

    public int sizeC() {
        return sizeC;
    }

    public int sizeZ() {
        return sizeZ;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public SampleType type() {
        return type;
    }

    /** The TIFF page (IFD index, from 0) holding plane (t, c, z). */
    public int page(int t, int c, int z) {
        return pages[(t * sizeZ + z) * sizeC + c];
    }

    /** Bytes of one time point's channel planes (one z). */
    public long timePointBytes() {
        return (long) sizeC * height * width * type.bytes();
    }

    @Override
    public String toString() {
        return sizeT + " time points x " + sizeC + " channels x " + sizeZ + " z x " + height + " x " + width + " " + type.omeName();
    }
}
