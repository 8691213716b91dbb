using CallMedia.Hosting;
using Microsoft.AspNetCore.Http;

namespace CallMedia.UnitTests;

public sealed class RequestLogTests
{
    [Fact]
    public void Shown_AShortPath_IsThePathEscaped()
    {
        Assert.Equal("/callrec/a%20b%0D%0Ac", RequestLog.Shown(new PathString("/callrec/a b\r\nc")));
    }

    [Theory]
    [InlineData("", "*", "*")]
    [InlineData("", null, "(no path)")]
    [InlineData("", "example.com:443", "(no path)")]
    [InlineData("/callrec/a b", "/callrec/a%20b?token=SECRET", "/callrec/a%20b")]
    public void Shown_WithTheRawTarget_IsThePathOrWhatStandsForIt(string path, string? raw, string expected)
    {
        Assert.Equal(expected, RequestLog.Shown(new PathString(path), raw));
    }

    [Fact]
    public void Shown_APathOfExactlyTheLimit_IsWhole()
    {
        var path = "/" + new string('a', RequestLog.PathShown - 1);

        Assert.Equal(path, RequestLog.Shown(new PathString(path)));
    }

    [Fact]
    public void Shown_AHugePath_IsCutAndSaysHowMuchIsLeftOut()
    {
        var path = "/callrec/" + new string('x', 250_000);

        var shown = RequestLog.Shown(new PathString(path));

        Assert.StartsWith("/callrec/xxx", shown, StringComparison.Ordinal);
        Assert.EndsWith($"... ({path.Length - RequestLog.PathShown} characters more)", shown, StringComparison.Ordinal);
        Assert.True(shown.Length < RequestLog.PathShown + 40, $"{shown.Length} characters shown");
    }

    [Fact]
    public void Shown_AHugePathOfEscapes_CountsTheEscapedCharacters()
    {
        // Each line break is shown as six characters (%0D%0A): the line stays bounded however the path is written.
        var shown = RequestLog.Shown(new PathString("/" + string.Concat(Enumerable.Repeat("\r\n", 10_000))));

        Assert.DoesNotContain('\n', shown);
        Assert.EndsWith($"... ({1 + 60_000 - RequestLog.PathShown} characters more)", shown, StringComparison.Ordinal);
    }
}
