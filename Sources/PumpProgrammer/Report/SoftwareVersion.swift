/// The version of this software, on `pumpctl --version`, in every report
/// and export, and in the SBOM (scripts/sbom.py reads it from here).
public enum PumpWandSoftware {
    public static let name = "PumpWand pumpctl"
    public static let version = "0.1.0"
}
