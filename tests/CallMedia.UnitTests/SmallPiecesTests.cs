using CallMedia.App;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Delivery;
using CallMedia.Hosting;

namespace CallMedia.UnitTests;

public sealed class SmallPiecesTests
{
    [Theory]
    [InlineData("1_p-0.mp3")]
    [InlineData("a!#$&+-.^_`|~b.mp4")]
    [InlineData("has space.mp3")]
    [InlineData("\u00fc.mp3")]
    [InlineData("quote\".mp3")]
    [InlineData("semi;colon.mp3")]
    [InlineData("per%cent.mp3")]
    [InlineData("star*.mp3")]
    [InlineData("apos'.mp3")]
    [InlineData("(paren),comma.mp3")]
    [InlineData("")]
    public void Disposition_IsWhatTheFrameworkWrites(string name)
    {
        foreach (var kind in (string[])["attachment", "inline"])
        {
            var framework = new Microsoft.Net.Http.Headers.ContentDispositionHeaderValue(kind);
            framework.SetHttpFileName(name);
            Assert.Equal(framework.ToString(), SendCallFileEndpoints.Disposition(kind, name));
        }
    }

    [Fact]
    public void ChainHash_TextMovedAcrossTheFieldSeparator_ChangesTheHash()
    {
        // A reason "court order 12<US>more" split into outcome "ok<US>court order 12" and reason "more" joins to the same
        // text; escaped, the two records hash differently, and a record without the separator hashes as it always did.
        var written = AuditLog.ChainHash(AuditLog.Genesis, 1, "demo", "127.0.0.1", "retention.hold", "1002", null, "ok", "court order 12\u001fmore");
        var moved = AuditLog.ChainHash(AuditLog.Genesis, 1, "demo", "127.0.0.1", "retention.hold", "1002", null, "ok\u001fcourt order 12", "more");
        Assert.NotEqual(written, moved);
        Assert.Equal(
            Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
                string.Join('\u001f', AuditLog.Genesis, "1", "demo", "127.0.0.1", "login", "", "", "ok")))),
            AuditLog.ChainHash(AuditLog.Genesis, 1, "demo", "127.0.0.1", "login", null, null, "ok"));
    }

    [Theory]
    [InlineData("2026-12-03", "2026-12-03T00:00:00.0000000+00:00")]
    [InlineData("2026-12-03T08:15", "2026-12-03T08:15:00.0000000+00:00")]
    [InlineData("2026-12-03 08:15:30", "2026-12-03T08:15:30.0000000+00:00")]
    [InlineData("2026-12-03T08:15:30.25Z", "2026-12-03T08:15:30.2500000+00:00")]
    [InlineData("2026-12-03T09:15:30+01:00", "2026-12-03T08:15:30.0000000+00:00")]
    [InlineData("03/12/2026", null)]
    [InlineData("12/03/2026", null)]
    [InlineData("3 Dec", null)]
    [InlineData("2026-13-01", null)]
    [InlineData("2026-12-03T08:15:30 garbage", null)]
    [InlineData("", null)]
    public void IsoTime_TakesIso8601OnlyUtcUnlessAnOffsetIsGiven(string text, string? expected)
    {
        var ok = IsoTime.TryParse(text, out var value);
        Assert.Equal(expected is not null, ok);
        if (expected is not null)
        {
            Assert.Equal(expected, value.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Theory]
    [InlineData(1001, "20261116.080000.1001@pbx", "mp3", 0, 1, "1001_20261116.080000.1001@pbx.mp3")]
    [InlineData(7, "a/b\\c:d*e?f\"g<h>i|j", "wav", 0, 1, "7_a_b_c_d_e_f_g_h_i_j.wav")]
    [InlineData(7, "x\ty", "mp3", 1, 2, "7_xy_2.mp3")]
    [InlineData(8, "Jiří", "mp4", 0, 3, "8_Jiří_1.mp4")]
    public void EntryNames_ReplaceUnsafeCharactersAndNumberSeveralFiles(long id, string sid, string format, int index, int count, string expected) =>
        Assert.Equal(expected, EntryNames.For(id, sid, format, index, count));

    [Theory]
    [InlineData(new[] { "http://127.0.0.1:8080" }, true)]
    [InlineData(new[] { "http://localhost:8080" }, true)]
    [InlineData(new[] { "http://[::1]:8080" }, true)]
    [InlineData(new[] { "http://127.0.0.1:8080", "http://0.0.0.0:8080" }, false)]
    [InlineData(new[] { "http://*:8080" }, false)]
    [InlineData(new[] { "http://+:8080" }, false)]
    [InlineData(new[] { "http://192.0.2.10:8080" }, false)]
    public void BindsLoopbackOnly_OnlyForLoopbackAddresses(string[] urls, bool expected) =>
        Assert.Equal(expected, ServerHost.BindsLoopbackOnly(urls));

    [Fact]
    public void Secrets_HaveTheContractShapes()
    {
        var session = Secrets.NewSessionId();
        Assert.Matches("^[0-9A-F]{32}$", session);
        Assert.Matches("^[A-Za-z0-9]{20}$", Secrets.NewToken());
        Assert.NotEqual(Secrets.NewToken(), Secrets.NewToken());
        Assert.Equal(Secrets.HashSession(session), Secrets.HashSession(session.ToLowerInvariant()));
        Assert.DoesNotContain(session, Secrets.HashSession(session), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void PasswordHashing_IsSaltedAndVerifies()
    {
        var a = PasswordHashing.Hash("correct horse");
        var b = PasswordHashing.Hash("correct horse");
        Assert.NotEqual(a, b);
        Assert.True(PasswordHashing.Verify(a, "correct horse"));
        Assert.False(PasswordHashing.Verify(a, "correct horsE"));
        Assert.False(PasswordHashing.Verify(PasswordHashing.DummyHash, ""));
    }

    [Fact]
    public void AuditChainHash_ChangesWithAnyFieldAndThePreviousHash()
    {
        var baseline = AuditLog.ChainHash(AuditLog.Genesis, 1, "demo", "127.0.0.1", "redeem", "1001", 100, "sent");
        Assert.Equal(baseline, AuditLog.ChainHash(AuditLog.Genesis, 1, "demo", "127.0.0.1", "redeem", "1001", 100, "sent"));
        Assert.NotEqual(baseline, AuditLog.ChainHash(baseline, 1, "demo", "127.0.0.1", "redeem", "1001", 100, "sent"));
        Assert.NotEqual(baseline, AuditLog.ChainHash(AuditLog.Genesis, 1, "demo", "127.0.0.1", "redeem", "1001", 101, "sent"));
        Assert.NotEqual(baseline, AuditLog.ChainHash(AuditLog.Genesis, 1, "demo", "127.0.0.1", "redeem", "1002", 100, "sent"));
        // Field boundaries are part of the hash: moving text between fields changes it.
        Assert.NotEqual(
            AuditLog.ChainHash(AuditLog.Genesis, 1, "ab", "c", "x", null, null, "ok"),
            AuditLog.ChainHash(AuditLog.Genesis, 1, "a", "bc", "x", null, null, "ok"));
    }
}

public sealed class ShellQuoteTests
{
    [Theory]
    [InlineData("-i", "-i")]
    [InlineData("/media/2026/11/01/a.wav", "/media/2026/11/01/a.wav")]
    [InlineData("[0:v]scale=2;[1:a]anull[a]", "'[0:v]scale=2;[1:a]anull[a]'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("", "''")]
    public void ShellQuote_QuotesWhatAShellWouldSplitOrExpand(string argument, string expected) =>
        Assert.Equal(expected, CallMedia.Media.Ffmpeg.ShellQuote(argument));
}
