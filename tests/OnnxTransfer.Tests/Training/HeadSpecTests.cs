using OnnxTransfer.Training.Heads;

namespace OnnxTransfer.Tests.Training;

public class HeadSpecTests
{
    [Theory]
    [InlineData("linear", "linear")]
    [InlineData("LINEAR", "linear")]
    [InlineData("mlp:256", "mlp:256")]
    [InlineData("mlp:256,128+layernorm+dropout=0.2", "mlp:256,128+layernorm+dropout=0.2")]
    [InlineData("mlp: 64 , 32+dropout=0.5+layernorm", "mlp:64,32+layernorm+dropout=0.5")]
    [InlineData("mlp:8+dropout=0", "mlp:8")]
    public void Parses_and_round_trips(string text, string canonical)
    {
        var spec = HeadSpec.Parse(text);
        Assert.Equal(canonical, spec.ToString());
        Assert.Equal(spec, HeadSpec.Parse(spec.ToString()));
    }

    [Fact]
    public void Parsed_fields_are_what_the_text_says()
    {
        var spec = HeadSpec.Parse("mlp:96,48+layernorm+dropout=0.25");
        Assert.Equal([96, 48], spec.Hidden);
        Assert.True(spec.LayerNorm);
        Assert.Equal(0.25, spec.Dropout);
        Assert.False(spec.IsLinear);
        Assert.True(HeadSpec.Parse("linear").IsLinear);
        Assert.NotEqual(HeadSpec.Parse("mlp:96"), HeadSpec.Parse("mlp:97"));
    }

    [Theory]
    [InlineData("conv")]
    [InlineData("mlp:")]
    [InlineData("mlp:0")]
    [InlineData("mlp:12,-3")]
    [InlineData("mlp:12+dropout=1")]
    [InlineData("mlp:12+batchnorm")]
    public void Bad_text_is_a_one_line_error(string text)
    {
        var e = Assert.Throws<OnnxTransferException>(() => HeadSpec.Parse(text));
        Assert.Contains(text, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
