#version 330
// One mesh drawn once per instance (agents, entities, props). Per-instance data comes
// from a buffer texture filled from numpy each frame: two texels per instance,
//   texel 0: x, y, z (ground height), heading (radians, 0 = +x)
//   texel 1: r, g, b (tint), scale
// The mesh's vertex colour is multiplied by the tint weighted by the vertex's alpha
// (1: tinted in full, 0: keeps its own colour). Panda3D gives meshes without a colour
// column white with alpha 1, so they take the tint as it is.
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform samplerBuffer instances;

in vec4 p3d_Vertex;
in vec3 p3d_Normal;
in vec4 p3d_Color;

out vec3 v_color;
out vec3 v_normal;

void main() {
    vec4 a = texelFetch(instances, gl_InstanceID * 2);
    vec4 b = texelFetch(instances, gl_InstanceID * 2 + 1);
    float s = sin(a.w), c = cos(a.w);
    vec3 v = p3d_Vertex.xyz * b.w;
    vec3 p = vec3(c * v.x - s * v.y, s * v.x + c * v.y, v.z) + a.xyz;
    v_normal = vec3(c * p3d_Normal.x - s * p3d_Normal.y, s * p3d_Normal.x + c * p3d_Normal.y, p3d_Normal.z);
    v_color = p3d_Color.rgb * mix(vec3(1.0), b.rgb, p3d_Color.a);
    gl_Position = p3d_ModelViewProjectionMatrix * vec4(p, 1.0);
}
