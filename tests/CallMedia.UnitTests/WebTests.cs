using CallMedia.Api;
using CallMedia.Hosting;
using CallMedia.Media;
using CallMedia.Web;

namespace CallMedia.UnitTests;

public sealed class WebTests
{
    [Fact]
    public void ApiDocsPolicy_AllowsInlineScriptsByTheirNonceOnly()
    {
        Assert.Equal(
            "default-src 'none'; script-src 'self' 'nonce-q2xE8'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
            ApiDocsPolicy.Policy("q2xE8"));
        Assert.Equal(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
            ApiDocsPolicy.Policy(null));
    }

    [Theory]
    [InlineData("/", true)]
    [InlineData("/calls/1003?number=%2B420&min=5", true)]
    [InlineData("/callrec/sendcallfile.mp3", true)]
    [InlineData("//evil.example/x", false)]
    [InlineData("/\\evil.example/x", false)]
    [InlineData("/a\\b", false)]
    [InlineData("https://evil.example/", false)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("calls/1003", false)]
    [InlineData("/\t/evil.example", false)]
    [InlineData("/.//evil.example/x", false)]
    [InlineData("/..//evil.example/x", false)]
    [InlineData("/%2e//evil.example/x", false)]
    [InlineData("/%2E%2e//evil.example/x", false)]
    [InlineData("/calls/../audit", false)]
    [InlineData("/calls/1003?q=../x", true)]
    [InlineData("/file.mp3", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsLocalPath_OnlyPathsOnThisSite(string? path, bool expected) =>
        Assert.Equal(expected, SignInPage.IsLocalPath(path));

    [Theory]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData("gzip;q=0.8, br;q=0", "gzip")]
    [InlineData("GZIP", "gzip")]
    [InlineData("identity", null)]
    [InlineData("", null)]
    [InlineData("gzip;q=0.5, br;q=0.4", "gzip")] // the client's preference, not ours
    [InlineData("br;q=0.5, gzip;q=0.5", "br")] // equal: the smaller body
    [InlineData("br;q=NaN, gzip", "gzip")] // not a q: refused
    [InlineData("br;q=2, gzip;q=0.1", "gzip")]
    [InlineData("*", "br")]
    [InlineData("*;q=0.5, br;q=0.1", "gzip")] // gzip through the wildcard
    [InlineData("gzip;q=0.3, identity;q=0.9", null)]
    [InlineData("br;q=0, gzip;q=0, identity;q=0", null)] // nothing acceptable: plain, rather than nothing
    public void Choose_TheCodingTheClientPrefersMost(string acceptEncoding, string? expected) =>
        Assert.Equal(expected, WebAssets.Choose(acceptEncoding));

    [Fact]
    public void WaveformKey_SameContentSameKey_AnyChangeAnotherKey()
    {
        static Calls.MediaFile File(long crc, long start) => new() { Crc32 = crc, Size = 100, StartAt = start, StopAt = start + 1000, Path = "x.wav", Format = "wav" };

        Assert.Equal(WaveformPeaks.Key([File(1, 0)]), WaveformPeaks.Key([File(1, 0)]));
        Assert.NotEqual(WaveformPeaks.Key([File(1, 0)]), WaveformPeaks.Key([File(2, 0)]));
        Assert.NotEqual(WaveformPeaks.Key([File(1, 0), File(2, 1500)]), WaveformPeaks.Key([File(1, 0), File(2, 1000)]));
    }
}
