using CallMedia.Calls;
using CallMedia.Delivery;
using CallMedia.Media;
using CallMedia.Tokens;

namespace CallMedia.UnitTests;

public sealed class DeliveryOptionsTests
{
    private static readonly Couple Sample = new()
    {
        Id = 42,
        Sid = "s/1",
        StartAt = new DateTimeOffset(2026, 3, 8, 6, 59, 59, TimeSpan.Zero).ToUnixTimeMilliseconds(),
        StopAt = new DateTimeOffset(2026, 3, 8, 7, 0, 29, 600, TimeSpan.Zero).ToUnixTimeMilliseconds(),
        CallingNumber = "2001",
        CallingName = "Agent",
        CalledNumber = "+15550100",
        CalledName = "Cust",
    };

    /// <summary>The sample couple with another called name or start.</summary>
    private static Couple Like(string? calledName = null, long? startAt = null) => new()
    {
        Id = Sample.Id,
        Sid = Sample.Sid,
        StartAt = startAt ?? Sample.StartAt,
        StopAt = Sample.StopAt,
        CallingNumber = Sample.CallingNumber,
        CallingName = Sample.CallingName,
        CalledNumber = Sample.CalledNumber,
        CalledName = calledName ?? Sample.CalledName,
    };

    [Fact]
    public void Render_EveryPlaceholder_InTheZone()
    {
        var zone = DeliveryOptions.FindZone("America/New_York")!;
        var template = FileNameTemplate.Parse("{{{id}}}_{sid}_{start}_{stop:HH:mm}_{calling}_{callingName}_{called}_{calledName}_{direction}_{duration}_{type}");
        Assert.Equal("{42}_s/1_20260308T015959_03:00_2001_Agent_+15550100_Cust_out_31_audio", template.Render(Sample, MediaType.Audio, zone));
    }

    [Theory]
    [InlineData("{nope}", "{nope}")]
    [InlineData("{id:0000}", "{id} takes no format")]
    [InlineData("{start:%}", "{start:%}")]
    [InlineData("{start", "without its '}'")]
    [InlineData("a}b", "without its '{'")]
    [InlineData("", "1 to 500")]
    public void Parse_BadTemplate_NamesTheFault(string text, string named) =>
        Assert.Contains(named, Assert.Throws<TemplateException>(() => FileNameTemplate.Parse(text)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData(" ..a/b.. ", "a_b.mp3")]
    [InlineData("...", "call.mp3")]
    [InlineData("x\u202Ey\u0000", "xy.mp3")]
    public void Templated_UnsafeBodies_AreCleaned(string body, string expected) =>
        Assert.Equal(expected, EntryNames.Templated(body, "mp3", 0, 1));

    [Theory]
    [InlineData("CON", "CON_.wav")]
    [InlineData("nul.txt", "nul_.txt.wav")]
    [InlineData("com1", "com1_.wav")]
    [InlineData("LpT9", "LpT9_.wav")]
    [InlineData("aux .x", "aux_ .x.wav")]
    [InlineData("CONSOLE", "CONSOLE.wav")]
    [InlineData("COM10", "COM10.wav")]
    public void Templated_WindowsDeviceName_GetsAnUnderscoreAfterItsStem(string body, string expected) =>
        Assert.Equal(expected, EntryNames.Templated(body, "wav", 0, 1));

    [Theory]
    [InlineData("{start:K}", "-05:00")]
    [InlineData("{start:d}", "31")]
    [InlineData("{start:%K}", "-05:00")]
    [InlineData("{start:yyyy-MM-dd}", "2026-12-31")]
    public void Parse_CustomDateSpecifier_IsAcceptedAndRendered(string text, string expected)
    {
        var couple = Like(startAt: new DateTimeOffset(2026, 12, 31, 23, 59, 58, TimeSpan.FromHours(-5)).ToUnixTimeMilliseconds());
        Assert.Equal(expected, FileNameTemplate.Parse(text).Render(couple, MediaType.Audio, DeliveryOptions.FindZone("America/New_York")!));
    }

    [Theory]
    [InlineData("{start:q}", "no valid date format")]
    [InlineData("{start:'x'}", "no valid date format")]
    [InlineData("{start:yyyy/MM/dd}", "path separator")]
    [InlineData("{start:yyyy\\/MM}", "path separator")]
    public void Parse_FormatWithoutDateOrWithPathSeparator_IsRefused(string text, string named) =>
        Assert.Contains(named, Assert.Throws<TemplateException>(() => FileNameTemplate.Parse(text)).Message, StringComparison.Ordinal);

    [Fact]
    public void Templated_LongBody_KeepsNumberTagAndExtensionWithin143Bytes()
    {
        var name = EntryNames.Templated(new string('ž', 200), "wav", 1, 3, " (2)");
        Assert.EndsWith("_2 (2).wav", name, StringComparison.Ordinal);
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(name), 130, EntryNames.MaxBytes);
    }

    [Theory]
    [InlineData(2, 0, "wav", ChannelMode.Stereo, null, false, "convert keep mp3")]
    [InlineData(2, 0, "wav", ChannelMode.Callee, "wav", false, "convert callee wav")]
    [InlineData(1, 1, "mp3", ChannelMode.Caller, null, true, "refuse")]
    [InlineData(1, 1, "mp3", ChannelMode.Stereo, null, false, "refuse")]
    [InlineData(1, 1, "wav", ChannelMode.Mono, null, false, "stored")]
    [InlineData(1, 1, "wav", ChannelMode.Mono, null, true, "convert keep mp3")]
    [InlineData(1, 2, "wav", ChannelMode.Stereo, null, false, "stored")]
    [InlineData(1, 2, "wav", ChannelMode.Stereo, "mp3", false, "convert keep mp3")]
    [InlineData(1, 2, "mp3", ChannelMode.Mono, null, true, "convert mono mp3")]
    [InlineData(1, 2, "mp3", ChannelMode.Keep, "wav", true, "convert keep wav")]
    public void Decide_LegsChannelsAndFormat_GiveThePlan(int legs, int channels, string stored, ChannelMode mode, string? format, bool stream, string expected)
    {
        var plan = AudioPlan.Decide(legs, channels, stored, mode, format, stream);
        var text = plan switch
        {
            AudioPlan.Refuse => "refuse",
            AudioPlan.AsStored => "stored",
            AudioPlan.Convert c => $"convert {AudioRendition.Name(c.Rendition.Channels)} {c.Rendition.Format}",
            _ => "?",
        };
        Assert.Equal(expected, text);
    }

    [Fact]
    public void Options_RoundTripThroughJson_AndNoneIsNull()
    {
        Assert.Null(DeliveryOptions.None.ToJson());
        Assert.Same(DeliveryOptions.None, DeliveryOptions.FromJson(null));
        var options = DeliveryOptions.Parse("callee", "wav", "{id}", "Europe/Prague", "1", MediaType.Audio, TokenAction.Download);
        Assert.Equal(options, DeliveryOptions.FromJson(options.ToJson()));
    }
}
