package io.fluostream.tiff;

/** Plane index ↔ (t, c, z) for an OME {@code DimensionOrder} such as "XYCZT" (c fastest, then z, then t). */
final class PlaneOrder {

    private PlaneOrder() {
    }

    static boolean valid(String order) {
        if (order == null || order.length() != 5 || !order.startsWith("XY")) {
            return false;
        }
        String rest = order.substring(2);
        return rest.indexOf('C') >= 0 && rest.indexOf('Z') >= 0 && rest.indexOf('T') >= 0;
    }

    /** Writes (t, c, z) of plane {@code index} into {@code tcz}. */
    static void position(String order, int index, int sizeT, int sizeC, int sizeZ, int[] tcz) {
        int rest = index;
        for (int k = 2; k < 5; k++) {
            char d = order.charAt(k);
            int size = d == 'T' ? sizeT : d == 'C' ? sizeC : sizeZ;
            int v = rest % size;
            rest /= size;
            tcz[d == 'T' ? 0 : d == 'C' ? 1 : 2] = v;
        }
    }

    /** The plane index of (t, c, z). */
    static int index(String order, int t, int c, int z, int sizeT, int sizeC, int sizeZ) {
        int index = 0;
        int stride = 1;
        for (int k = 2; k < 5; k++) {
            char d = order.charAt(k);
            int size = d == 'T' ? sizeT : d == 'C' ? sizeC : sizeZ;
            index += stride * (d == 'T' ? t : d == 'C' ? c : z);
            stride *= size;
        }
        return index;
    }
}
