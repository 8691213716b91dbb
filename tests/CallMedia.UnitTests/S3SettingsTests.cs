using CallMedia.Storage;

namespace CallMedia.UnitTests;

public sealed class S3SettingsTests
{
    private static StorageOptions S3(Action<S3StorageOptions> change)
    {
        var options = new StorageOptions { Kind = "s3", S3 = new S3StorageOptions { Bucket = "media", ServiceUrl = "http://127.0.0.1:9" } };
        change(options.S3);
        return options;
    }

    [Theory]
    [InlineData(4)]
    [InlineData(2048)]
    [InlineData(-1)]
    public void Problem_PartSizeOutOfRange_NamesTheSetting(int mib) =>
        Assert.StartsWith("Storage:S3:PartSizeMiB must be between 5 and 2047", S3Registration.Problem(S3(s => s.PartSizeMiB = mib)), StringComparison.Ordinal);

    [Theory]
    [InlineData(0)]
    [InlineData(2048)]
    public void Problem_ReadBlockOutOfRange_NamesTheSetting(int mib) =>
        Assert.StartsWith("Storage:S3:ReadBlockMiB must be between 1 and 1024", S3Registration.Problem(S3(s => s.ReadBlockMiB = mib)), StringComparison.Ordinal);

    [Fact]
    public void Problem_InputCacheZero_NamesTheSetting() =>
        Assert.StartsWith("Storage:S3:InputCacheMiB must be between 1", S3Registration.Problem(S3(s => s.InputCacheMiB = 0)), StringComparison.Ordinal);

    [Theory]
    [InlineData(0)]
    [InlineData(3601)]
    public void Problem_TimeoutOutOfRange_NamesTheSetting(int seconds) =>
        Assert.StartsWith("Storage:S3:TimeoutSeconds must be between 1 and 3600", S3Registration.Problem(S3(s => s.TimeoutSeconds = seconds)), StringComparison.Ordinal);

    [Theory]
    [InlineData(0)]
    [InlineData(3601)]
    public void Problem_RedirectSecondsOutOfRange_NamesTheSetting(int seconds) =>
        Assert.StartsWith("Storage:S3:RedirectSeconds must be between 1 and 3600", S3Registration.Problem(S3(s => s.RedirectSeconds = seconds)), StringComparison.Ordinal);
}
